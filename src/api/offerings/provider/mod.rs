//! `/api/marketplace-provider-offerings/`: listing, creating and deleting offerings, their
//! lifecycle actions and the edits of their descriptive parts.
//!
//! - [`list`]: the list and a single offering, with the filters the public side shares.
//! - [`fields`]: reading the descriptive fields and the category of a body.
//! - [`create`]: creating an offering.
//! - [`lifecycle`]: lifecycle actions and deletion.
//! - [`edit`]: the `update_*` actions.
//! - [`endpoints`]: adding and removing endpoints.

mod create;
mod edit;
mod endpoints;
mod fields;
mod lifecycle;
mod list;

pub use list::offering_filter;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::body::Body;

const COLLECTION: &str = "/api/marketplace-provider-offerings/";

pub fn router() -> Router<Arc<ApiState>> {
    let base = "/api/marketplace-provider-offerings/{uuid}";
    let mut router = Router::new()
        .route(COLLECTION, get(list::list).post(create::create))
        .route(
            &format!("{base}/"),
            get(list::retrieve).delete(lifecycle::destroy),
        )
        .route(
            &format!("{base}/update_overview/"),
            post(edit::update_overview),
        )
        .route(
            &format!("{base}/update_description/"),
            post(edit::update_description),
        )
        .route(
            &format!("{base}/update_options/"),
            post(edit::update_options),
        )
        .route(
            &format!("{base}/update_resource_options/"),
            post(edit::update_resource_options),
        )
        .route(
            &format!("{base}/update_integration/"),
            post(edit::update_integration),
        )
        .route(
            &format!("{base}/update_attributes/"),
            post(edit::update_attributes),
        )
        .route(
            &format!("{base}/update_location/"),
            post(edit::update_location),
        )
        .route(
            &format!("{base}/add_endpoint/"),
            post(endpoints::add_endpoint),
        )
        .route(
            &format!("{base}/delete_endpoint/"),
            post(endpoints::delete_endpoint),
        );
    for (name, action) in lifecycle::LIFECYCLE {
        let action = *action;
        router = router.route(
            &format!("{base}/{name}/"),
            post(
                move |State(state): State<Arc<ApiState>>,
                      caller: Caller,
                      Path(uuid): Path<String>,
                      Body(body): Body| async move {
                    lifecycle::transition(state, caller, uuid, action, body).await
                },
            ),
        );
    }
    router
}
