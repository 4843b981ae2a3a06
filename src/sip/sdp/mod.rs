//! SDP (RFC 4566) parsing and building, and offer/answer (RFC 3264).
