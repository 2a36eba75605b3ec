//! Authentication: who is calling. ServiceStack clients present one of
//! - `Authorization: Basic base64(email:password)` (accepted on every request),
//! - an API key, as `Authorization: Bearer <key>` or as the Basic user name with no password,
//! - a login session id from `POST /auth/credentials`, in the `ss-id`/`ss-pid` cookies (chosen
//!   by `ss-opt`) or the `X-ss-id`/`X-ss-pid`/`X-ss-opt` headers.
//!
//! Passwords and API key secrets are stored only as argon2id hashes. Verifying one costs tens
//! of milliseconds by design, so a verified Basic header or key is cached in memory, keyed by
//! a keyed hash of the secret (the cache never holds a secret). A cached verification is still
//! re-checked by the database in the statement that uses it (see
//! [`crate::storage::auth::Credential`]), so a password change or key revocation takes effect
//! at once on every instance.

use crate::AppState;
use crate::error::ApiError;
use crate::storage::auth::{self as store, Admission, Credential, ThrottlePolicy};
use crate::username;
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use axum::extract::FromRequestParts;
use axum::http::{StatusCode, header, request::Parts};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use siphasher::sip128::{Hasher128, SipHasher24};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hasher;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// The role that acts in every account.
pub const SYSTEM_ADMINISTRATOR: &str = "SystemAdministrator";

/// The roles Evo Voice knows, in their canonical spelling.
pub const ROLES: &[&str] = &[SYSTEM_ADMINISTRATOR, MANAGER, "Customer", "User"];

/// Manages the accounts it belongs to (e.g. may delete their sessions).
pub const MANAGER: &str = "Manager";

/// Longest user name (e-mail) and password considered at all.
const MAX_USER_NAME_LEN: usize = 256;
/// Normalisation can expand a name (`ß` → `ss`, compatibility forms); bounded again after it.
const MAX_USER_KEY_LEN: usize = 1024;
const MAX_PASSWORD_LEN: usize = 1024;

/// API keys look like `vk_<16 hex id>_<64 hex secret>`.
const API_KEY_PREFIX: &str = "vk_";

/// Canonical spelling of a role name given in any case, or None when it is not a role.
pub fn canonical_role(name: &str) -> Option<&'static str> {
    ROLES.iter().copied().find(|r| r.eq_ignore_ascii_case(name))
}

/// Hashes a secret with argon2id and a random salt (PHC string format).
pub fn hash_secret(secret: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(secret.as_bytes(), &salt)?
        .to_string())
}

/// Checks a secret against a stored PHC hash; a malformed hash never verifies.
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verified against when the user name is unknown, so an unknown user costs the same time as
/// a wrong password and response timing does not reveal which user names exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_secret("not a real password").expect("argon2 hashes a constant"));

/// How many argon2 verifications may run at once. Each takes ~19 MiB and tens of
/// milliseconds of a core; unbounded, a flood of bogus credentials would take the process to
/// gigabytes. Verified credentials are cached, so legitimate traffic rarely needs a slot.
static ARGON2_SLOTS: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::sync::Semaphore::new(2 * cpus)
});

/// How long a verification waits for a slot before the request is answered 503.
const ARGON2_WAIT: Duration = Duration::from_secs(2);

/// Runs argon2 verification off the async workers (it is deliberately slow CPU work), at most
/// [`ARGON2_SLOTS`] at a time.
async fn verify_blocking(secret: String, hash: Option<String>) -> Result<bool, ApiError> {
    let _slot = tokio::time::timeout(ARGON2_WAIT, ARGON2_SLOTS.acquire())
        .await
        .map_err(|_| ApiError::service_unavailable("Too many logins in progress; retry shortly"))?
        .map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_secret(&secret, &h),
        None => {
            verify_secret(&secret, &DUMMY_HASH);
            false
        }
    })
    .await
    .map_err(ApiError::internal)
}

/// SHA-256 in lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `n` random bytes from the OS generator, hex-encoded.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new API key: (public id, the whole key to hand out once).
pub fn new_api_key() -> (String, String) {
    let id = random_hex(8);
    let key = format!("{API_KEY_PREFIX}{id}_{}", random_hex(32));
    (id, key)
}

/// `vk_<id>_<secret>` → (id, secret).
fn split_api_key(key: &str) -> Option<(&str, &str)> {
    let (id, secret) = key.strip_prefix(API_KEY_PREFIX)?.split_once('_')?;
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 16) && hex(secret, 64)).then_some((id, secret))
}

/// Authentication settings and the verification cache; one per server.
pub struct AuthConfig {
    pub throttle: ThrottlePolicy,
    /// Lifetime of a login session without rememberMe.
    pub login_session_ttl: Duration,
    /// Lifetime of a login session with rememberMe.
    pub remember_ttl: Duration,
    /// How long the evidence that credentials verified is kept after their last verification.
    pub evidence_ttl: Duration,
    cache: VerifiedCache,
    /// Verifications of one user name run one at a time (per instance), so a burst of first
    /// requests from a legitimate client verifies once and finds the rest in the cache. (The
    /// throttle does not rely on it: its check-and-count is one statement, see
    /// [`store::admit`].)
    login_stripes: Vec<tokio::sync::Mutex<()>>,
    /// The key of the evidence tags (see [`evidence_tag`]): configured, or else the one in the
    /// database, loaded at first use.
    evidence_key: tokio::sync::OnceCell<[u8; 32]>,
}

/// Stripes for [`AuthConfig::login_stripes`]: enough that unrelated user names rarely wait on
/// each other.
const LOGIN_STRIPES: usize = 256;

/// The name of the evidence key in `server_keys`.
const EVIDENCE_KEY_NAME: &str = "credential-evidence";

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            throttle: ThrottlePolicy::default(),
            login_session_ttl: Duration::from_secs(12 * 3600),
            remember_ttl: Duration::from_secs(30 * 24 * 3600),
            evidence_ttl: Duration::from_secs(30 * 24 * 3600),
            cache: VerifiedCache::new(Duration::from_secs(300), 10_000),
            login_stripes: (0..LOGIN_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            evidence_key: tokio::sync::OnceCell::new(),
        }
    }
}

impl AuthConfig {
    /// Waits for this user name's turn to verify a password (see `login_stripes`).
    /// The user name's turn to verify; waiting for it is bounded like waiting for argon2, so
    /// a flood of guesses at one name cannot queue its other logins without end.
    async fn login_turn(
        &self,
        user_key: &str,
    ) -> Result<tokio::sync::MutexGuard<'_, ()>, ApiError> {
        tokio::time::timeout(ARGON2_WAIT, self.login_stripes[stripe_of(user_key)].lock())
            .await
            .map_err(|_| ApiError::service_unavailable("Too many logins at once; retry shortly"))
    }

    /// How long a verified credential is trusted without argon2 (default 5 minutes).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache = VerifiedCache::new(ttl, self.cache.capacity);
        self
    }

    /// How many verified credentials the in-memory cache holds (default 10,000); when full,
    /// expired entries go first, then the oldest.
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = VerifiedCache::new(self.cache.ttl, capacity.max(1));
        self
    }

    pub fn with_throttle(mut self, throttle: ThrottlePolicy) -> Self {
        self.throttle = throttle;
        self
    }

    /// Uses `secret` (the same on every instance) for the evidence tags instead of a key kept
    /// in the database, so a copy of the database alone cannot test password guesses against
    /// them.
    pub fn with_evidence_secret(self, secret: &str) -> Self {
        let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let _ = self.evidence_key.set(key);
        self
    }

    /// The evidence key: configured, or the database's (created there by the first instance).
    async fn evidence_key(&self, pool: &sqlx::PgPool) -> Result<&[u8; 32], ApiError> {
        self.evidence_key
            .get_or_try_init(|| async {
                let mut fresh = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut fresh);
                let key = store::server_key(pool, EVIDENCE_KEY_NAME, &fresh).await?;
                <[u8; 32]>::try_from(key.as_slice())
                    .map_err(|_| ApiError::internal("server_keys holds a key of the wrong size"))
            })
            .await
    }
}

/// Verified credentials by a keyed hash of what the client presented (the user name by its
/// normalised key). The key is random per process, so the map's keys are useless outside it;
/// entries expire after `ttl`. Bounded: when full, an expired entry or else the oldest one
/// makes room, so no caller can empty the cache for everyone.
///
/// An entry in the last quarter of its `ttl` is due: the request that finds it is answered from
/// it and has it verified again in the background ([`refresh`]), so a client that keeps using a
/// credential never waits for argon2 when its entry would have expired (measured with a 3 s
/// `ttl`, wrk at c = 8: without the refresh every request in flight stalled 43-79 ms at each
/// expiry; BENCHMARKS.md). Nothing is trusted longer than before: an entry still ends `ttl`
/// after its last verification.
struct VerifiedCache {
    /// The key of [`VerifiedCache::slot`]'s hash, new for every process.
    key: [u8; 16],
    ttl: Duration,
    capacity: usize,
    entries: Mutex<CacheEntries>,
}

/// A cache entry's key: see [`VerifiedCache::slot`].
type Slot = u128;

#[derive(Default)]
struct CacheEntries {
    /// Slot → (credential, when verified, insertion number).
    map: HashMap<Slot, (Credential, Instant, u64)>,
    /// Insertion order; an element whose number no longer matches the map's is stale.
    order: VecDeque<(Slot, u64)>,
    next: u64,
    /// Slots being verified again in the background (at most one refresh a slot, and only of
    /// an entry there was: bounded by the capacity and the refreshes under way).
    refreshing: HashSet<Slot>,
}

impl CacheEntries {
    /// Removes the oldest live entry.
    fn evict_oldest(&mut self) {
        while let Some((slot, n)) = self.order.pop_front() {
            if self.map.get(&slot).is_some_and(|e| e.2 == n) {
                self.map.remove(&slot);
                return;
            }
        }
    }
}

impl VerifiedCache {
    fn new(ttl: Duration, capacity: usize) -> Self {
        let mut key = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut key);
        VerifiedCache {
            key,
            ttl,
            capacity,
            entries: Mutex::new(CacheEntries::default()),
        }
    }

    /// The slot of a presented credential: a keyed 128-bit hash of it (SipHash-2-4, the
    /// variant with the PRF claim, under a key of this process's own), so the cache holds no
    /// secret, and a cache hit (which does not check the secret again) needs the credential
    /// itself or a guess of 128 bits the caller never sees. It was SHA-256 under the same
    /// kind of key, 7.0 K instructions a request of the ~148 K a PATCH JSON costs (callgrind,
    /// 1,000 patches); a keyed PRF is all a lookup needs, and this one with the lookup around
    /// it is under 1.5 K (the whole extractor went from 11.4 K to 4.9 K).
    fn slot(&self, kind: &str, secret: &[&str]) -> Slot {
        let mut h = SipHasher24::new_with_key(&self.key);
        h.write(kind.as_bytes());
        for part in secret {
            // Length-prefixed so ("a:b","c") and ("a","b:c") differ.
            h.write(&(part.len() as u64).to_le_bytes());
            h.write(part.as_bytes());
        }
        h.finish128().as_u128()
    }

    /// The live entry of `slot`, and whether it is due for a refresh.
    fn get(&self, slot: &Slot) -> Option<(Credential, bool)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (credential, at, _) = entries.map.get(slot)?;
        let age = at.elapsed();
        (age < self.ttl).then(|| (credential.clone(), age >= self.ttl - self.ttl / 4))
    }

    /// Claims `slot`'s refresh: false when its entry is gone or a refresh is under way.
    fn claim_refresh(&self, slot: &Slot) -> bool {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.map.contains_key(slot) && e.refreshing.insert(*slot)
    }

    fn end_refresh(&self, slot: &Slot) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.refreshing.remove(slot);
    }

    fn put(&self, slot: Slot, cred: Credential) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if !e.map.contains_key(&slot) && e.map.len() >= self.capacity {
            // Entries are inserted in time order, so the oldest are the first to expire.
            e.evict_oldest();
        }
        let n = e.next;
        e.next += 1;
        e.map.insert(slot, (cred, Instant::now(), n));
        e.order.push_back((slot, n));
        if e.order.len() > 2 * self.capacity {
            // Drop stale order entries (re-inserted slots) so the queue stays bounded.
            let CacheEntries { map, order, .. } = &mut *e;
            order.retain(|(s, n)| map.get(s).is_some_and(|x| x.2 == *n));
        }
    }

    fn evict(&self, slot: &Slot) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.map.remove(slot);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().map.len()
    }
}

/// What the client presented. Not `Debug`: it holds secrets.
#[derive(Clone)]
enum Presented {
    /// `from`: the client's address ([`crate::server::ClientAddr`]), to which a verification's
    /// exemption from a lock is bound.
    Basic {
        user: String,
        password: String,
        from: String,
    },
    ApiKey(String),
    LoginSession(String),
}

/// An authenticated caller: the credential the database re-checks on every statement.
#[derive(Clone)]
pub struct Principal {
    pub credential: Credential,
    presented: Presented,
    /// Set when the credential came from the verification cache.
    cached: Option<Slot>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The credential holds ids and hashes only; `presented` holds secrets and is left out.
        f.debug_struct("Principal")
            .field("credential", &self.credential)
            .finish()
    }
}

impl Principal {
    /// The login session id the client presented, when that is how it authenticated.
    pub fn login_session_id(&self) -> Option<String> {
        match &self.presented {
            Presented::LoginSession(id) => Some(id.clone()),
            _ => None,
        }
    }

    /// After the database refused a cached credential (password changed, key revoked): drop the
    /// cache entry and verify what was presented from scratch. None for a session id, which
    /// has nothing to re-verify.
    pub async fn reverify(&self, state: &AppState) -> Result<Option<Principal>, ApiError> {
        let Some(slot) = self.cached else {
            return Ok(None);
        };
        state.auth.cache.evict(&slot);
        verify(state, self.presented.clone(), false).await.map(Some)
    }
}

/// The user name and password of an `Authorization: Basic` header, if the request has one.
pub fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    match presented(parts) {
        Ok(Some(Presented::Basic { user, password, .. })) => Some((user, password)),
        _ => None,
    }
}

/// The client address of a request, as text ("" when the request did not come through
/// [`crate::server::run`], e.g. in a unit test).
pub fn client_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<crate::server::ClientAddr>()
        .map(|c| c.0.to_string())
        .unwrap_or_default()
}

/// The login stripe of a normalised user name.
fn stripe_of(user_key: &str) -> usize {
    let digest = Sha256::digest(user_key.as_bytes());
    (digest[0] as usize) % LOGIN_STRIPES
}

/// Reads the credentials from the request, most explicit first: Authorization, then the
/// ServiceStack session headers, then cookies.
fn presented(parts: &Parts) -> Result<Option<Presented>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or("").trim();
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            return Ok(Some(Presented::ApiKey(rest.to_string())));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                // No user name or password holds a NUL (PostgreSQL's text cannot).
                .filter(|s| !s.contains('\0'))
                .ok_or_else(|| ApiError::unauthorized("Invalid BasicAuth Credentials"))?;
            let (user, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
            if password.is_empty() && user.starts_with(API_KEY_PREFIX) {
                return Ok(Some(Presented::ApiKey(user.to_string())));
            }
            return Ok(Some(Presented::Basic {
                user: user.to_string(),
                password: password.to_string(),
                from: client_of(parts),
            }));
        }
    }
    Ok(login_session_id(parts).map(Presented::LoginSession))
}

/// The live session id: `ss-pid` when `ss-opt` says `perm`, else `ss-id`; each read from its
/// `X-` header first, then its cookie.
pub fn login_session_id(parts: &Parts) -> Option<String> {
    let value = |name: &str| -> Option<String> {
        let header_name = format!("x-{name}");
        if let Some(v) = parts
            .headers
            .get(header_name.as_str())
            .and_then(|v| v.to_str().ok())
        {
            return Some(v.trim().to_string());
        }
        parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim().to_string())
    };
    let perm = value("ss-opt").is_some_and(|o| o.split(',').any(|p| p.trim() == "perm"));
    let id = if perm {
        value("ss-pid")
    } else {
        value("ss-id")
    };
    id.filter(|id| !id.is_empty() && id.len() <= 256)
}

/// Verifies what the client presented, using (and filling) the cache when `use_cache`.
async fn verify(
    state: &AppState,
    presented: Presented,
    use_cache: bool,
) -> Result<Principal, ApiError> {
    let auth = &state.auth;
    let slot = match &presented {
        // Bound to the client's address: a guess from elsewhere that happens to be right is
        // not answered from the cache (see `verify_password_in_turn`).
        Presented::Basic {
            user,
            password,
            from,
        } => Some(
            // The name as presented, not normalised: a hit needs the exact credentials
            // anyway, and normalising (NFKD, case folding, NFC) on every request showed at
            // ~3 % of the server's CPU in a profile. A variant spelling takes its own slot;
            // the cache evicts the oldest entry, never the whole (and a miss costs one
            // verification, not a lockout: the exemption's evidence is in PostgreSQL).
            auth.cache.slot("basic", &[user, password, from]),
        ),
        Presented::ApiKey(key) => Some(auth.cache.slot("apikey", &[key])),
        Presented::LoginSession(_) => None,
    };
    let use_slot = slot.filter(|_| use_cache);
    // A cached verification, if caching is on and there is one.
    if let Some(slot) = use_slot
        && let Some((credential, due)) = auth.cache.get(&slot)
    {
        if due && auth.cache.claim_refresh(&slot) {
            refresh(state.clone(), presented.clone(), slot);
        }
        return Ok(Principal {
            credential,
            presented,
            cached: Some(slot),
        });
    }
    let credential = check_presented(state, &presented, use_slot).await?;
    if let Some(slot) = slot {
        auth.cache.put(slot, credential.clone());
    }
    Ok(Principal {
        credential,
        presented,
        cached: slot,
    })
}

/// Checks what the client presented against the database (argon2 for a password or an API
/// key), without the cache; except that a password's check first waits its turn, and `recheck`
/// names the slot a concurrent request may have filled meanwhile.
async fn check_presented(
    state: &AppState,
    presented: &Presented,
    recheck: Option<Slot>,
) -> Result<Credential, ApiError> {
    match presented {
        Presented::LoginSession(id) => Ok(Credential::LoginSession {
            id_hash: sha256_hex(id.as_bytes()),
        }),
        Presented::Basic {
            user,
            password,
            from,
        } => {
            let key = username::key(user);
            let _turn = state.auth.login_turn(&key).await?;
            match recheck.and_then(|slot| state.auth.cache.get(&slot)) {
                Some((credential, _)) => Ok(credential),
                None => verify_password_in_turn(state, user, &key, password, from).await,
            }
        }
        Presented::ApiKey(key) => verify_api_key(state, key).await,
    }
}

/// Verifies a due cache entry's credential again, in a task of its own (see [`VerifiedCache`]):
/// verified, the entry starts a new `ttl`; refused (the password changed, the key was revoked),
/// the entry goes at once; any other failure (the database, argon2's queue, a locked name)
/// leaves it to expire as it would have.
fn refresh(state: AppState, presented: Presented, slot: Slot) {
    tokio::spawn(async move {
        match check_presented(&state, &presented, None).await {
            Ok(credential) => state.auth.cache.put(slot, credential),
            Err(e) if e.status == axum::http::StatusCode::UNAUTHORIZED => {
                state.auth.cache.evict(&slot)
            }
            Err(_) => {}
        }
        state.auth.cache.end_refresh(&slot);
    });
}

/// Checks an e-mail and password, with login throttling per normalised user name: each
/// attempt is admitted and counted in one statement before any verification, a locked name
/// admits nothing, and the attempt that reaches the limit locks the name (it is still
/// answered as invalid credentials, as ServiceStack does).
pub async fn verify_password(
    state: &AppState,
    user: &str,
    password: &str,
    from: &str,
) -> Result<Credential, ApiError> {
    let key = username::key(user);
    let _turn = state.auth.login_turn(&key).await?;
    verify_password_in_turn(state, user, &key, password, from).await
}

/// [`verify_password`] for a caller that already holds the user name's turn.
///
/// While the name is locked, credentials that verified before *from the same client address*
/// (evidence in PostgreSQL, so on any instance and after restarts) are still accepted, so a
/// stranger guessing at an e-mail address cannot lock out the integration that uses it. The
/// binding to the address is what keeps the lock a lock: were any right password accepted
/// during it, a locked name would answer every guess at once, right or wrong — an oracle at
/// request speed. A guess from another address is refused without being looked at.
async fn verify_password_in_turn(
    state: &AppState,
    user: &str,
    key: &str,
    password: &str,
    from: &str,
) -> Result<Credential, ApiError> {
    // No real e-mail or password is this long; refusing them before any database work keeps
    // them out of the throttle table's index (which cannot hold a key over ~2.7 KB).
    if user.len() > MAX_USER_NAME_LEN
        || key.len() > MAX_USER_KEY_LEN
        || password.len() > MAX_PASSWORD_LEN
    {
        return Err(ApiError::unauthorized("Invalid Username or Password"));
    }
    let pool = &state.pool;
    let started_lock = match store::admit(pool, key, &state.auth.throttle).await? {
        Admission::Admitted { started_lock } => started_lock,
        Admission::Locked { secs } => {
            // No address, no exemption. From an address, the exemption checks are throttled
            // like logins (per name and address), so clients sharing the integration's
            // address (NAT, a proxy not listed as trusted) get no more guesses than anyone.
            if from.is_empty() {
                return Err(locked(secs));
            }
            let from_key = format!("{key}\u{1}{from}");
            let Admission::Admitted { started_lock } =
                store::admit(pool, &from_key, &state.auth.throttle).await?
            else {
                return Err(locked(secs));
            };
            let tag = evidence_tag(state, key, password, from).await?;
            return match store::verified_before(pool, key, &tag).await? {
                Some((user_id, auth_stamp)) => {
                    store::clear_failures(pool, &from_key, started_lock).await?;
                    Ok(Credential::User {
                        user_id,
                        auth_stamp,
                    })
                }
                None => Err(locked(secs)),
            };
        }
    };
    let found = store::password_of(pool, key).await?;
    let ok = verify_blocking(password.to_string(), found.as_ref().map(|f| f.1.clone())).await?;
    match found {
        Some((user_id, _, auth_stamp)) if ok => {
            store::clear_failures(pool, key, started_lock).await?;
            let tag = evidence_tag(state, key, password, from).await?;
            store::record_verified(pool, &user_id, &tag, auth_stamp).await?;
            Ok(Credential::User {
                user_id,
                auth_stamp,
            })
        }
        // Already counted by `admit`.
        _ => Err(ApiError::unauthorized("Invalid Username or Password")),
    }
}

/// The evidence tag of a user name, password and client address: HMAC-SHA-256 under the
/// evidence key. It proves "these exact credentials verified before, from there" and nothing
/// else; whoever reads it
/// without the key learns nothing about the password.
async fn evidence_tag(
    state: &AppState,
    key: &str,
    password: &str,
    from: &str,
) -> Result<Vec<u8>, ApiError> {
    let secret = state.auth.evidence_key(&state.pool).await?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(ApiError::internal)?;
    for part in [key, password, from] {
        mac.update(&(part.len() as u64).to_le_bytes());
        mac.update(part.as_bytes());
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

fn locked(secs: f64) -> ApiError {
    let secs = secs.ceil().max(1.0) as u64;
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        format!("Too many failed logins for this user name; try again in {secs} seconds"),
    )
    .with_retry_after(secs)
}

async fn verify_api_key(state: &AppState, key: &str) -> Result<Credential, ApiError> {
    let invalid = || ApiError::unauthorized("Invalid API Key");
    let Some((id, secret)) = split_api_key(key) else {
        return Err(invalid());
    };
    // An unknown key id is refused without hashing: key ids are random and reveal nothing,
    // and a flood of made-up keys then costs one indexed lookup each, not an argon2 run.
    let Some((_, hash)) = store::api_key(&state.pool, id).await? else {
        return Err(invalid());
    };
    if verify_blocking(secret.to_string(), Some(hash)).await? {
        Ok(Credential::ApiKey {
            key_id: id.to_string(),
        })
    } else {
        Err(invalid())
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match presented(parts)? {
            Some(p) => verify(state, p, true).await,
            None => Err(ApiError::unauthorized("Not Authenticated")),
        }
    }
}

/// An optional principal: for `/auth/status`, which answers anonymous callers too.
pub async fn optional_principal(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<Principal>, ApiError> {
    match presented(parts)? {
        Some(p) => verify(state, p, true).await.map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(n: usize) -> Credential {
        Credential::ApiKey {
            key_id: n.to_string(),
        }
    }

    #[test]
    fn a_full_cache_evicts_the_oldest_entry_not_everything() {
        let cache = VerifiedCache::new(Duration::from_secs(60), 3);
        let slots: Vec<_> = (0..5).map(|n| cache.slot("k", &[&n.to_string()])).collect();
        for (n, s) in slots.iter().enumerate().take(3) {
            cache.put(*s, cred(n));
        }
        cache.put(slots[3], cred(3));
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&slots[0]), None, "the oldest went");
        for (n, slot) in slots.iter().enumerate().take(4).skip(1) {
            assert_eq!(cache.get(slot), Some((cred(n), false)));
        }
        // Ten thousand strangers' entries later the cache is still full, not emptied.
        for n in 0..10_000 {
            cache.put(cache.slot("x", &[&n.to_string()]), cred(n));
        }
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn an_entry_in_the_last_quarter_of_its_ttl_is_due_and_refreshed_once_at_a_time() {
        let cache = VerifiedCache::new(Duration::from_secs(1), 10);
        let slot = cache.slot("k", &["a"]);
        assert!(!cache.claim_refresh(&slot), "no entry, nothing to refresh");
        cache.put(slot, cred(1));
        assert_eq!(cache.get(&slot), Some((cred(1), false)));
        std::thread::sleep(Duration::from_millis(850));
        assert_eq!(
            cache.get(&slot),
            Some((cred(1), true)),
            "due, still answered"
        );
        assert!(cache.claim_refresh(&slot));
        assert!(!cache.claim_refresh(&slot), "one refresh at a time");
        // The refresh verified: a new ttl, and the slot can be refreshed again later.
        cache.put(slot, cred(1));
        cache.end_refresh(&slot);
        assert_eq!(cache.get(&slot), Some((cred(1), false)));
        assert!(cache.claim_refresh(&slot));
        cache.end_refresh(&slot);
        // A refused refresh evicts: nothing is answered from the entry any more.
        cache.evict(&slot);
        assert_eq!(cache.get(&slot), None);
        assert!(!cache.claim_refresh(&slot));
    }
}
