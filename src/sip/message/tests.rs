use super::*;
use rsip::prelude::*;

const INVITE: &str = "INVITE sip:echo@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n\
Max-Forwards: 70\r\n\
From: <sip:a@10.0.0.1>;tag=1\r\n\
To: <sip:echo@127.0.0.1>\r\n\
Call-ID: abc@10.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:a@10.0.0.1>\r\n\
Content-Length: 0\r\n\r\n";

fn message(text: &str) -> SipMessage {
    match decode(text.as_bytes(), 65535, false) {
        Decoded::Message(m) => *m,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn rejected(text: &str) -> String {
    match decode(text.as_bytes(), 65535, false) {
        Decoded::Reject { reason, response } => {
            let response = String::from_utf8(response).unwrap();
            assert!(response.starts_with("SIP/2.0 400 "), "{response}");
            assert!(response.contains(&reason));
            reason
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[test]
fn plain_invite_parses() {
    let m = message(INVITE);
    assert_eq!(m.call_id_header().unwrap().value(), "abc@10.0.0.1");
}

#[test]
fn folded_header_is_unfolded() {
    let text = INVITE.replace(
        "Contact: <sip:a@10.0.0.1>\r\n",
        "Subject: first\r\n  second part\r\n\tthird\r\nContact: <sip:a@10.0.0.1>\r\n",
    );
    let raw = split(text.as_bytes()).unwrap();
    assert_eq!(raw.header("Subject"), Some("first second part third"));
    message(&text);
}

#[test]
fn compact_names_expand() {
    let text = "INVITE sip:echo@127.0.0.1 SIP/2.0\r\n\
v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n\
f: <sip:a@10.0.0.1>;tag=1\r\n\
t: <sip:echo@127.0.0.1>\r\n\
i: abc\r\n\
CSeq: 1 INVITE\r\n\
m: <sip:a@10.0.0.1>\r\n\
l: 0\r\n\r\n";
    let m = message(text);
    assert_eq!(m.call_id_header().unwrap().value(), "abc");
    assert!(m.contact_header().is_ok());
    assert_eq!(
        m.from_header().unwrap().tag().unwrap().unwrap().value(),
        "1"
    );
}

#[test]
fn comma_joined_vias_are_split_in_order() {
    let text = INVITE.replace(
        "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n",
        "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1, SIP/2.0/TCP 10.0.0.2;branch=z9hG4bK2\r\nVia: SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK3\r\n",
    );
    let raw = split(text.as_bytes()).unwrap();
    let vias: Vec<&str> = raw
        .headers
        .iter()
        .filter(|(n, _)| n == "Via")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(vias.len(), 3);
    assert!(vias[1].starts_with("SIP/2.0/TCP 10.0.0.2"));
    let m = message(&text);
    assert_eq!(
        m.via_header()
            .unwrap()
            .typed()
            .unwrap()
            .branch()
            .unwrap()
            .to_string(),
        "z9hG4bK1"
    );
}

#[test]
fn bare_lf_line_ends_are_tolerated() {
    message(&INVITE.replace("\r\n", "\n"));
}

#[test]
fn missing_mandatory_headers_get_400() {
    for name in ["From", "To", "Call-ID", "CSeq"] {
        let text: String = INVITE
            .split("\r\n")
            .filter(|l| !l.starts_with(&format!("{name}:")))
            .collect::<Vec<_>>()
            .join("\r\n");
        assert_eq!(rejected(&text), format!("Missing {name} header"));
    }
}

#[test]
fn missing_via_is_dropped_not_answered() {
    let text: String = INVITE
        .split("\r\n")
        .filter(|l| !l.starts_with("Via:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    assert!(matches!(
        decode(text.as_bytes(), 65535, false),
        Decoded::Drop { .. }
    ));
}

#[test]
fn content_length_rules() {
    let with_body = INVITE.replace("Content-Length: 0", "Content-Length: 4") + "v=0\r\nextra";
    let m = message(&with_body);
    assert_eq!(m.body(), b"v=0\r");
    let short = INVITE.replace("Content-Length: 0", "Content-Length: 400") + "v=0\r\n";
    assert_eq!(rejected(&short), "Body shorter than Content-Length");
    let bad = INVITE.replace("Content-Length: 0", "Content-Length: x");
    assert_eq!(rejected(&bad), "Malformed Content-Length");
    let none = INVITE.replace("Content-Length: 0\r\n", "");
    assert!(matches!(
        decode(none.as_bytes(), 65535, true),
        Decoded::Reject { .. }
    ));
}

#[test]
fn cseq_and_start_line_checks() {
    assert_eq!(
        rejected(&INVITE.replace("CSeq: 1 INVITE", "CSeq: 1 BYE")),
        "CSeq method does not match the request"
    );
    assert_eq!(
        rejected(&INVITE.replace("CSeq: 1 INVITE", "CSeq: one INVITE")),
        "Malformed CSeq"
    );
    assert_eq!(
        rejected(&INVITE.replace("SIP/2.0\r\nVia", "SIP/3.0\r\nVia")),
        "Bad request line"
    );
}

#[test]
fn huge_message_and_garbage_are_dropped() {
    let huge = INVITE.replace(
        "\r\n\r\n",
        &format!("\r\nX-Big: {}\r\n\r\n", "a".repeat(70000)),
    );
    assert!(matches!(
        decode(huge.as_bytes(), 65535, false),
        Decoded::Drop { .. }
    ));
    assert!(matches!(
        decode(&[0xff, 0xfe, 0x00, 0x13], 65535, false),
        Decoded::Drop { .. }
    ));
    assert!(matches!(
        decode(b"\r\n\r\n", 65535, false),
        Decoded::KeepAlive
    ));
}

#[test]
fn non_utf8_headers_are_dropped_or_rejected() {
    let mut bytes = INVITE.as_bytes().to_vec();
    let at = INVITE.find("Call-ID: abc").unwrap() + 9;
    bytes[at] = 0xff;
    assert!(matches!(decode(&bytes, 65535, false), Decoded::Drop { .. }));
}

#[test]
fn responses_parse_and_broken_responses_drop() {
    let ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n";
    assert!(matches!(message(ok), SipMessage::Response(_)));
    let bad = ok.replace("200 OK", "2000 OK");
    assert!(matches!(
        decode(bad.as_bytes(), 65535, false),
        Decoded::Drop { .. }
    ));
}

#[test]
fn unknown_method_gets_501() {
    let text = INVITE
        .replace("INVITE sip:", "FOO sip:")
        .replace("1 INVITE", "1 FOO");
    match decode(text.as_bytes(), 65535, false) {
        Decoded::Reject { response, .. } => {
            assert!(String::from_utf8(response)
                .unwrap()
                .starts_with("SIP/2.0 501 "))
        }
        other => panic!("expected 501, got {other:?}"),
    }
}

/// A small deterministic generator (xorshift) so failures reproduce.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn mutated_messages_never_panic() {
    let seeds = [
        INVITE.to_string(),
        INVITE
            .replace("INVITE", "BYE")
            .replace("To: <sip:echo@127.0.0.1>", "To: <sip:echo@127.0.0.1>;tag=x"),
    ];
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut outcomes = [0usize; 4];
    for round in 0..20_000 {
        let mut bytes = seeds[round % seeds.len()].as_bytes().to_vec();
        for _ in 0..1 + next(&mut state) % 6 {
            let at = (next(&mut state) as usize) % bytes.len().max(1);
            match next(&mut state) % 5 {
                0 => bytes[at] = next(&mut state) as u8,
                1 => {
                    bytes.remove(at);
                }
                2 => {
                    let specials = b":;,<>\r\n \t\"=@";
                    bytes.insert(at, specials[next(&mut state) as usize % specials.len()])
                }
                3 => bytes.truncate(at),
                _ => {
                    let len = (next(&mut state) % 40) as usize;
                    let chunk: Vec<u8> = bytes[at..(at + len).min(bytes.len())].to_vec();
                    bytes.splice(at..at, chunk);
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        let slot = match decode(&bytes, 65535, round % 2 == 0) {
            Decoded::Message(_) => 0,
            Decoded::Reject { .. } => 1,
            Decoded::Drop { .. } => 2,
            Decoded::KeepAlive => 3,
        };
        outcomes[slot] += 1;
    }
    // The mutations reach every outcome, so the test exercises the checks.
    assert!(
        outcomes[0] > 100 && outcomes[1] > 100 && outcomes[2] > 100,
        "{outcomes:?}"
    );
}
