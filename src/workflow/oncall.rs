//! On-call auto-approval (issue 17): once a request is posted and stored, if an [`OnCall`]
//! adapter is set and says the requester is on call in a schedule configured for the level, the
//! request is approved (`Request::on_auto_approved`) and issued as after the last approval; the
//! thread says why. No answer, a failure or a timeout changes nothing: the request waits for
//! reactions as usual.
//!
//! [`OnCall`]: super::port::OnCall

use super::port::OnCall;
use super::Workflow;
use crate::access::{Rejection, RequestId};
use crate::timers::Updated;
use std::sync::Arc;

impl Workflow {
    /// Sets the on-call adapter (once, at start; a second call is ignored and says so).
    pub fn set_on_call(&self, on_call: Arc<dyn OnCall>) {
        if self.inner.on_call.set(on_call).is_err() {
            tracing::warn!("the on-call adapter was set already; kept the first");
        }
    }

    /// Approves the posted request `id` if its requester is on call; otherwise nothing.
    pub(super) async fn auto_approve(&self, id: &RequestId) {
        let Some(on_call) = self.inner.on_call.get() else { return };
        let Ok(Some((req, _))) = self.inner.store.load(id.as_str()).await else { return };
        if !req.is_pending() {
            return;
        }
        let Some(schedule) = on_call.on_call_schedule(req.requester(), req.level()).await else {
            return;
        };
        let now = self.now();
        let notes = |r: &crate::access::Request, t: &crate::access::Transition| {
            self.outbox_notes(&self.transition_notes(r, t, None))
        };
        let updated = self
            .inner
            .store
            .update_with_notes(
                id.as_str(),
                |r| Ok::<_, Rejection>(r.on_auto_approved(&schedule, now)),
                notes,
            )
            .await;
        match updated {
            Ok(Updated::Changed { request, transition }) => {
                tracing::info!(request_id = %id, "request approved automatically (on call)");
                Box::pin(self.after(request, transition, None)).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, request_id = %id, "could not auto-approve"),
        }
    }
}
