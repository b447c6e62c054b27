//! Replacing a factory admin password: the profile's password-change form (path and field names per family), the
//! answer that says it took, and the login again with the new password.

use std::ops::ControlFlow::{Break, Continue};

use super::event::{Event, Sink};
use super::outcome::Report;
use super::run::{Job, LoggedIn, OrEnd, Step, attention, client_outcome, log_in, logout, warn};
use crate::secret::Secret;

/// With `--new-password-file`, a phone still on its factory admin password gets the new one (and is logged into
/// again with it); without it, a factory password is a warning. A dry run only shows the change.
pub(super) async fn replace_factory_password(
    job: &Job,
    session: &mut LoggedIn<'_>,
    report: &mut Report,
    events: Sink<'_>,
) -> Step<()> {
    let (client, profile) = (session.client, session.profile);
    if profile
        .login
        .factory_passwords
        .iter()
        .any(|f| f == session.password.expose())
        && job.new_password.is_none()
    {
        warn(
            report,
            events,
            "the phone is still on its factory admin password; give --new-password-file to replace it",
        );
    }
    if let Some(new) = &job.new_password {
        if profile
            .login
            .factory_passwords
            .iter()
            .any(|f| f == session.password.expose())
        {
            if job.dry_run {
                events(Event::Plan {
                    changes: vec!["Admin password: factory default → (new)".into()],
                });
            } else {
                change_password(session, new).await?;
                report.password_changed = true;
                events(Event::PasswordChanged);
                // The old credentials are dead: log in again with the new password.
                logout(client, profile, &session.auth, events).await;
                let relogin = log_in(
                    job,
                    client,
                    profile,
                    std::slice::from_ref(new),
                    report,
                    events,
                )
                .await?;
                session.auth = relogin.auth;
                session.password = new.clone();
            }
        } else {
            warn(
                report,
                events,
                "the admin password was not changed: the phone is not on its factory password",
            );
        }
    }
    Continue(())
}

/// Post the profile's password-change form; the phone must answer as it answers a taken change.
async fn change_password(session: &LoggedIn<'_>, new: &Secret) -> Step<()> {
    let (client, profile, auth, old) = (
        session.client,
        session.profile,
        &session.auth,
        &session.password,
    );
    let (Some(path), Some(form)) = (
        profile.pages.change_password.as_deref(),
        profile.change_password.as_ref(),
    ) else {
        return Break(attention(
            "this family has no web page to change the admin password; change it on the phone",
        ));
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(&form.old_password, old.expose())
        .append_pair(&form.new_password, new.expose())
        .append_pair(&form.confirm_password, new.expose())
        .finish();
    let r = client
        .send("POST", path, &auth.headers(true), Some(body))
        .await
        .or_end(client_outcome)?;
    let changed = profile
        .provisioning
        .changed_body
        .clone()
        .unwrap_or_default();
    if r.status == 200 && r.body.trim() == changed {
        Continue(())
    } else {
        Break(attention(format!(
            "the phone refused the new admin password (HTTP {}, {:?}); it may not meet the phone's password rules",
            r.status,
            r.body.chars().take(40).collect::<String>()
        )))
    }
}
