//! Message-waiting indication in the core: SUBSCRIBE to a mailbox's
//! message summary (RFC 3842 over RFC 6665), the NOTIFYs of each
//! subscription, and NOTIFYs to an owner's phones without one.

use std::net::IpAddr;
use std::time::Instant;

use rsip::prelude::*;
use rsip::{Header, Request};

use super::{uri_host, SipCore};
use crate::config::{MailboxConfig, VoicemailConfig};
use crate::sip::dialog::{Dialog, DialogKey};
use crate::sip::mwi::{
    build_unsolicited_notify, MessageSummary, Mwi, Notification, SubscribeHeaders,
    SubscribeRefusal, UnsolicitedNotify, CONTENT_TYPE, EVENT_PACKAGE,
};
use crate::sip::peer::Peer;
use crate::sip::transaction::TransactionKey;

impl SipCore {
    /// Serves message-summary subscriptions to these mailboxes. Existing
    /// subscriptions are dropped silently: they belonged to the old set.
    pub fn set_mailboxes(&mut self, mailboxes: &[MailboxConfig], voicemail: &VoicemailConfig) {
        self.mwi = Mwi::new(mailboxes, voicemail);
    }

    /// The message counts of `mailbox` are now `new`/`old`. When they
    /// differ from the last ones (a mailbox never set has 0/0), every
    /// subscription to it is notified (RFC 6665 §4.2.2: NOTIFY on a change
    /// of state) and, when configured, every registered contact of its
    /// owner. Unchanged counts send nothing: a repeated report would make
    /// phones blink or beep again for no news.
    pub fn set_message_counts(&mut self, now: Instant, mailbox: &str, new: u32, old: u32) {
        if !self.mwi.mailboxes.set_counts(mailbox, new, old) {
            return;
        }
        for key in self.mwi.subscriptions.for_mailbox(mailbox) {
            if let Some(notification) = self.mwi.subscriptions.notify(now, &key) {
                self.send_notify(now, notification);
            }
        }
        if self.mwi.notify_unsubscribed {
            self.notify_owner_contacts(now, mailbox);
        }
        self.drain_layer(now);
    }

    /// SUBSCRIBE: a new subscription outside a dialog, a refresh or an
    /// unsubscription inside one.
    pub(super) fn handle_subscribe(
        &mut self,
        now: Instant,
        key: TransactionKey,
        request: Request,
        source: Peer,
    ) {
        let headers = match SubscribeHeaders::read(&request) {
            Ok(headers) => headers,
            Err(e) => {
                let reason = e.to_string();
                let (code, extra) = (e.status_code(), e.headers());
                self.respond(now, &key, &request, code, Some(&reason), extra, None);
                return;
            }
        };
        let in_dialog = request
            .to_header()
            .ok()
            .and_then(|t| t.tag().ok().flatten())
            .is_some();
        if in_dialog {
            self.refresh_subscription(now, key, request, headers);
        } else {
            self.new_subscription(now, key, request, source, headers);
        }
    }

    /// A dialog-creating SUBSCRIBE (RFC 6665 §4.2.1.1).
    fn new_subscription(
        &mut self,
        now: Instant,
        key: TransactionKey,
        request: Request,
        source: Peer,
        headers: SubscribeHeaders,
    ) {
        let user = request.uri.auth.as_ref().map(|a| a.user.clone());
        let Some(mailbox) = user
            .as_deref()
            .and_then(|u| self.mwi.mailboxes.resolve(u))
            .map(str::to_string)
        else {
            self.respond(
                now,
                &key,
                &request,
                404,
                Some("No such mailbox"),
                vec![],
                None,
            );
            return;
        };
        // RFC 6665 §4.2.1.1 and §5.2: authorise the subscriber. An owner
        // with credentials must prove it is the owner (RFC 3261 §22.4);
        // a mailbox without one is open.
        let owner = self.mwi.mailboxes.owner(&mailbox).map(str::to_string);
        if let Some(owner) = owner.filter(|o| self.registrar.is_user(o)) {
            if let Err(answer) = self.registrar.authenticate_as(now, &request, &owner) {
                self.respond_registrar(now, &key, &request, answer);
                return;
            }
        }
        let tag = crate::sip::ids::new_tag();
        let dialog = match Dialog::from_invite(&request, &tag, source) {
            Ok(dialog) => dialog,
            Err(e) => {
                let reason = e.to_string();
                self.respond(now, &key, &request, 400, Some(&reason), vec![], None);
                return;
            }
        };
        // The first NOTIFY tells what is stored now: files may have changed
        // without the server (restored from a backup, removed by hand).
        self.mailbox_changed(now, &mailbox);
        let subscribed = self.mwi.subscriptions.subscribe(
            now,
            dialog,
            &mailbox,
            headers.event_id,
            headers.expires,
        );
        match subscribed {
            Ok(notification) => {
                self.accept_subscribe(now, &key, &request, &notification, Some(&tag));
                self.send_notify(now, notification);
            }
            Err(refusal) => self.refuse_subscribe(now, &key, &request, &refusal),
        }
    }

    /// A SUBSCRIBE in a subscription's dialog: refresh or, with Expires 0,
    /// unsubscribe (RFC 6665 §4.2.1.2, §4.1.2.3).
    fn refresh_subscription(
        &mut self,
        now: Instant,
        key: TransactionKey,
        request: Request,
        headers: SubscribeHeaders,
    ) {
        let Some((dialog_key, cseq)) = dialog_key_and_cseq(&request) else {
            self.respond(
                now,
                &key,
                &request,
                400,
                Some("Malformed CSeq"),
                vec![],
                None,
            );
            return;
        };
        // RFC 6665 §4.1.2.2: the refresh names the same event (type and id).
        let same_event = self
            .mwi
            .subscriptions
            .get(&dialog_key)
            .is_some_and(|s| s.event_id == headers.event_id);
        let refreshed = if same_event {
            self.mwi
                .subscriptions
                .refresh(now, &dialog_key, cseq, headers.expires)
        } else {
            Err(SubscribeRefusal::NoSuchSubscription)
        };
        match refreshed {
            Ok(notification) => {
                self.accept_subscribe(now, &key, &request, &notification, None);
                self.send_notify(now, notification);
            }
            Err(refusal) => self.refuse_subscribe(now, &key, &request, &refusal),
        }
    }

    /// 200 with the granted Expires and our Contact (RFC 6665 §4.2.1.1;
    /// 202 is deprecated).
    fn accept_subscribe(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        request: &Request,
        notification: &Notification,
        to_tag: Option<&str>,
    ) {
        let extra = vec![
            Header::Expires(notification.state.expires_s().to_string().into()),
            Header::Contact(self.contact_for(notification.dialog.peer).into()),
        ];
        self.respond(now, key, request, 200, None, extra, to_tag);
    }

    fn refuse_subscribe(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        request: &Request,
        refusal: &SubscribeRefusal,
    ) {
        let extra = match refusal {
            // RFC 6665 §4.2.1.1 (and RFC 3261 §21.4.17): say the minimum.
            SubscribeRefusal::TooBrief { min_expires_s } => {
                vec![Header::MinExpires(min_expires_s.to_string().into())]
            }
            // RFC 3261 §21.5.4: try again later.
            SubscribeRefusal::Full => vec![Header::RetryAfter(
                self.settings.retry_after_s.to_string().into(),
            )],
            _ => vec![],
        };
        let reason = refusal.to_string();
        let code = refusal.status_code();
        self.respond(now, key, request, code, Some(&reason), extra, None);
    }

    /// Sends a NOTIFY in its subscription's dialog as a non-INVITE client
    /// transaction (RFC 6665 §4.2.1.1: at once after accepting, and on
    /// every change; §4.2.2 for its headers).
    fn send_notify(&mut self, now: Instant, notification: Notification) {
        let dialog = &notification.dialog;
        let destination = dialog.destination();
        let ip = self.local_ip_for(destination.addr);
        let (new, old) = self.mwi.mailboxes.counts(&notification.mailbox);
        let account = account_uri(&notification.mailbox, ip);
        let body = MessageSummary::voice(Some(account), new, old).to_body();
        let event = match &notification.event_id {
            Some(id) => format!("{EVENT_PACKAGE};id={id}"),
            None => EVENT_PACKAGE.to_string(),
        };
        let extra = format!(
            "Event: {event}\r\nSubscription-State: {}\r\nContact: {}\r\nUser-Agent: {}\r\n",
            notification.state,
            self.contact_for(destination),
            self.settings.user_agent
        );
        let branch = crate::sip::ids::new_branch();
        let built = dialog.request_with(
            "NOTIFY",
            dialog.local_cseq,
            &uri_host(ip),
            self.settings.port_for(destination.transport),
            &branch,
            &extra,
            Some((CONTENT_TYPE, &body)),
        );
        let request = match built {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(error = %e, "cannot build NOTIFY");
                return;
            }
        };
        match self.layer.send_request(now, request, destination) {
            Ok(transaction) => {
                let key = dialog.key();
                if self.mwi.subscriptions.get(&key).is_some() {
                    self.mwi.subscriptions.track_notify(transaction, key);
                }
            }
            Err(e) => tracing::warn!(error = %e, "NOTIFY not sent"),
        }
    }

    /// NOTIFYs outside any subscription to every registered contact of
    /// `mailbox`'s owner.
    fn notify_owner_contacts(&mut self, now: Instant, mailbox: &str) {
        let Some(owner) = self.mwi.mailboxes.owner(mailbox).map(str::to_string) else {
            return;
        };
        let (new, old) = self.mwi.mailboxes.counts(mailbox);
        for binding in self.registrar.lookup(&owner, now) {
            let destination = binding.destination;
            let ip = self.local_ip_for(destination.addr);
            let host = uri_host(ip);
            let account = account_uri(mailbox, ip);
            let body = MessageSummary::voice(Some(account.clone()), new, old).to_body();
            let built = build_unsolicited_notify(&UnsolicitedNotify {
                contact: &binding.contact,
                account: &account,
                owner_uri: &format!("sip:{owner}@{host}"),
                from_tag: &crate::sip::ids::new_tag(),
                call_id: &crate::sip::ids::new_call_id(),
                via_host: &host,
                via_port: self.settings.port_for(destination.transport),
                transport: destination.transport.via_token(),
                branch: &crate::sip::ids::new_branch(),
                our_contact: &self.contact_for(destination),
                user_agent: &self.settings.user_agent,
                body: &body,
            });
            match built {
                Ok(request) => {
                    if let Err(e) = self.layer.send_request(now, request, destination) {
                        tracing::warn!(error = %e, "unsolicited NOTIFY not sent");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, contact = %binding.contact, "cannot build NOTIFY")
                }
            }
        }
    }

    /// A response to a client transaction, maybe one of our NOTIFYs.
    /// RFC 6665 §4.2.2: 481 or 408 ends the subscription.
    pub(super) fn notify_response(&mut self, key: &TransactionKey, response: &rsip::Response) {
        let code = response.status_code.code();
        if let Some(ended) = self.mwi.subscriptions.notify_answered(key, code) {
            tracing::info!(call_id = %ended.dialog.call_id, code, "subscription ended by NOTIFY answer");
        }
    }

    /// A NOTIFY went unanswered (Timer F): RFC 6665 §4.2.2, the
    /// subscription ends.
    pub(super) fn notify_timeout(&mut self, key: &TransactionKey) {
        if let Some(ended) = self.mwi.subscriptions.notify_timed_out(key) {
            tracing::info!(call_id = %ended.dialog.call_id, "subscription ended: NOTIFY timed out");
        }
    }

    /// Expired subscriptions get their final NOTIFY.
    pub(super) fn run_subscription_timers(&mut self, now: Instant) {
        for notification in self.mwi.subscriptions.handle_timeout(now) {
            self.send_notify(now, notification);
        }
    }
}

/// `Allow-Events: message-summary`.
pub(super) fn allow_events() -> Header {
    crate::sip::mwi::allow_events()
}

/// `sip:BOX@HOST`: the Message-Account (RFC 3842 §5.2).
fn account_uri(mailbox: &str, ip: IpAddr) -> String {
    format!("sip:{mailbox}@{}", uri_host(ip))
}

/// The dialog a request belongs to and its CSeq number.
fn dialog_key_and_cseq(request: &Request) -> Option<(DialogKey, u32)> {
    let call_id = request.call_id_header().ok()?.value().trim().to_string();
    let local_tag = request.to_header().ok()?.tag().ok()??.value().to_string();
    let cseq = request.cseq_header().ok()?.seq().ok()?;
    Some((DialogKey { call_id, local_tag }, cseq))
}
