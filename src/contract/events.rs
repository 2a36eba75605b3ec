//! ServiceStack's Server Events DTOs (`ServiceStack.Interfaces`), as `ServerEventsClient`
//! sends them: `UpdateEventSubscriber` (`POST /event-subscribers/{id}`,
//! `/api/UpdateEventSubscriber`) and `GetEventSubscribers` (`GET /event-subscribers`,
//! `/api/GetEventSubscribers`). ServiceStack hides them from its metadata
//! (`Restrict(VisibilityTo = None)`), and so does this server: they are bound from the
//! contract like every other request, but are not in the operation table (`crate::events`
//! routes them).

use super::servicestack::ResponseStatus;
use voice_api_derive::Dto;

/// Joins and leaves channels of a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(
    namespace = "ServiceStack",
    xml_namespace = "http://schemas.servicestack.net/types",
    ordered
)]
pub struct UpdateEventSubscriber {
    pub id: Option<String>,
    pub subscribe_channels: Option<Vec<String>>,
    pub unsubscribe_channels: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(
    namespace = "ServiceStack",
    xml_namespace = "http://schemas.servicestack.net/types",
    ordered
)]
pub struct UpdateEventSubscriberResponse {
    pub response_status: Option<ResponseStatus>,
}

/// The subscribers of channels; answered as a list of their Meta maps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(
    namespace = "ServiceStack",
    xml_namespace = "http://schemas.servicestack.net/types",
    ordered
)]
pub struct GetEventSubscribers {
    pub channels: Option<Vec<String>>,
}
