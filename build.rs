//! sqlx's `migrate!()` copies `migrations/` into the binary at compile time, but on stable Rust
//! it cannot ask cargo to watch that folder: without this, adding a migration file leaves a
//! binary that never applies it (scripts/scale once measured such a build).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
