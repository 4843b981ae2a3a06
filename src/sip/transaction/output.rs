//! What the transaction layer and its state machines hand back to their
//! driver.

use bytes::Bytes;

use super::TransactionKey;
use crate::sip::Peer;

/// Output of the transaction layer, drained with `poll_output`.
// Events carry whole messages; each output is moved once from the queue to
// the driver, so boxing them would only add an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionOutput {
    /// Bytes to put on the wire towards `to`.
    Transmit {
        to: Peer,
        data: Bytes,
    },
    Event(TransactionEvent),
}

/// What the transaction user (the SIP core) is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionEvent {
    /// A new request, now owned by server transaction `key`.
    Request {
        key: TransactionKey,
        request: rsip::Request,
        source: Peer,
    },
    /// An ACK for a 2xx, or one matching no transaction.
    Ack {
        request: rsip::Request,
        source: Peer,
    },
    /// A response for client transaction `key`. A 2xx to an INVITE whose
    /// transaction is gone also arrives here; `key` then names the finished
    /// transaction.
    Response {
        key: TransactionKey,
        response: rsip::Response,
    },
    /// Timer B or F (client), or Timer H (server: a non-2xx final response
    /// never acknowledged).
    Timeout { key: TransactionKey },
    /// The client transaction's request could not be sent: its connection
    /// could not be opened (RFC 3261 §17.1.4; the TU treats it as a 503,
    /// §8.1.3.1). The transaction is terminated.
    TransportFailed { key: TransactionKey },
    /// A 2xx to an INVITE not acknowledged within 64·T1 (RFC 3261 §13.3.1.4):
    /// the session should be ended with BYE.
    AckTimeout { key: TransactionKey },
    /// The transaction is over and forgotten.
    Terminated { key: TransactionKey },
}

/// Output of one transaction state machine; the layer addresses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MachineOutput {
    /// Bytes for the transaction's peer.
    Transmit(Bytes),
    /// A response for the transaction user (client transactions).
    Response(rsip::Response),
    Timeout,
    AckTimeout,
    Terminated,
}
