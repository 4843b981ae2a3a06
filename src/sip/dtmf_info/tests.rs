use rand::{Rng, SeedableRng};

use super::*;

fn digit(c: char) -> DtmfDigit {
    DtmfDigit::from_char(c).expect("a DTMF character")
}

fn relay(body: &str) -> Result<(DtmfDigit, Option<u32>), InfoError> {
    parse_body(DTMF_RELAY, body.as_bytes())
}

#[test]
fn dtmf_relay_bodies_as_devices_send_them() {
    let cases: [(&str, char, Option<u32>); 14] = [
        // Cisco gateways and phones.
        ("Signal=1\r\nDuration=160\r\n", '1', Some(160)),
        // Asterisk (chan_sip / PJSIP).
        ("Signal=5\r\nDuration=250\r\n", '5', Some(250)),
        // Polycom: `#` and `*` as characters.
        ("Signal=#\r\nDuration=160\r\n", '#', Some(160)),
        ("Signal=*\r\nDuration=100\r\n", '*', Some(100)),
        // Gateways writing event codes for `*` and `#`, and A-D.
        ("Signal=10\r\nDuration=160\r\n", '*', Some(160)),
        ("Signal=11\r\nDuration=160\r\n", '#', Some(160)),
        ("Signal=12\r\n", 'A', None),
        // Lower-case keys and values, bare LF, no final line end.
        ("signal=d\nduration=90", 'D', Some(90)),
        // Spaces around keys and values; a space-indented line.
        ("Signal = 7 \r\n Duration= 120\r\n", '7', Some(120)),
        // Upper-case keys, other keys, Duration first, bare CR.
        ("DURATION=200\rVolume=10\rSIGNAL=9\r", '9', Some(200)),
        // No Duration at all, and a zero one: not stated.
        ("Signal=0\r\n", '0', None),
        ("Signal=3\r\nDuration=0\r\n", '3', None),
        // Blank lines and a line without `=` around the fields.
        (
            "\r\nSignal=2\r\n\r\nsome note\r\nDuration=60\r\n\r\n",
            '2',
            Some(60),
        ),
        ("Signal=b", 'B', None),
    ];
    for (body, c, duration) in cases {
        assert_eq!(relay(body), Ok((digit(c), duration)), "{body:?}");
    }
}

#[test]
fn content_types_are_read_case_insensitively_with_parameters() {
    let body = b"Signal=4\r\nDuration=160\r\n";
    for ct in [
        "application/dtmf-relay",
        "Application/DTMF-Relay",
        " application/dtmf-relay ; charset=utf-8",
    ] {
        assert_eq!(parse_body(ct, body), Ok((digit('4'), Some(160))), "{ct}");
    }
    assert_eq!(
        BodyKind::from_content_type("APPLICATION/DTMF"),
        Some(BodyKind::Dtmf)
    );
    for ct in [
        "text/plain",
        "application/dtmf-relayx",
        "application/sdp",
        "",
    ] {
        let err = parse_body(ct, body).unwrap_err();
        assert_eq!(err, InfoError::UnsupportedContentType, "{ct}");
        assert_eq!(err.status_code(), 415);
    }
}

#[test]
fn dtmf_bodies_are_the_digit_alone() {
    let cases = [
        ("5", '5'),
        ("5\r\n", '5'),
        (" # ", '#'),
        ("*", '*'),
        ("c", 'C'),
        ("11", '#'),
    ];
    for (body, c) in cases {
        assert_eq!(
            parse_body("application/dtmf", body.as_bytes()),
            Ok((digit(c), None)),
            "{body:?}"
        );
    }
}

#[test]
fn malformed_bodies_are_400_with_a_reason() {
    let cases: [(&str, &[u8], InfoError); 14] = [
        (DTMF_RELAY, b"", InfoError::MissingSignal),
        (DTMF_RELAY, b"Duration=160\r\n", InfoError::MissingSignal),
        (DTMF_RELAY, b"Signal:5\r\n", InfoError::MissingSignal),
        (DTMF_RELAY, b"Signal=\r\n", InfoError::BadSignal),
        (DTMF_RELAY, b"Signal=E\r\n", InfoError::BadSignal),
        (DTMF_RELAY, b"Signal=55\r\n", InfoError::BadSignal),
        // 16 is hook flash (RFC 4733 §3.2), not a key.
        (DTMF_RELAY, b"Signal=16\r\n", InfoError::BadSignal),
        (
            DTMF_RELAY,
            b"Signal=1\r\nSignal=2\r\n",
            InfoError::DuplicateSignal,
        ),
        (
            DTMF_RELAY,
            b"Signal=5\r\nDuration=abc\r\n",
            InfoError::BadDuration,
        ),
        (
            DTMF_RELAY,
            b"Signal=5\r\nDuration=-1\r\n",
            InfoError::BadDuration,
        ),
        (
            DTMF_RELAY,
            b"Signal=5\r\nDuration=99999999999\r\n",
            InfoError::BadDuration,
        ),
        (DTMF_RELAY, b"Signal=\xff\xfe\r\n", InfoError::NotText),
        (DTMF, b"  \r\n", InfoError::MissingSignal),
        (DTMF, b"5 6", InfoError::BadSignal),
    ];
    for (ct, body, want) in cases {
        let got = parse_body(ct, body);
        assert_eq!(got, Err(want), "{body:?}");
        assert_eq!(want.status_code(), 400);
    }
}

#[test]
fn built_bodies_read_back() {
    let body = dtmf_relay_body(digit('#'), 160);
    assert_eq!(body, "Signal=#\r\nDuration=160\r\n");
    assert_eq!(relay(&body), Ok((digit('#'), Some(160))));
    for c in "0123456789*#ABCD".chars() {
        let body = dtmf_relay_body(digit(c), 250);
        assert_eq!(relay(&body), Ok((digit(c), Some(250))));
        assert_eq!(parse_dtmf(dtmf_body(digit(c)).as_bytes()), Ok(digit(c)));
    }
    assert_eq!(dtmf_body(digit('A')), "A");
}

#[test]
fn random_bodies_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(6086);
    let alphabet = b"Signal=Duration0123456789*#ABCDabcd \r\n=;:\xff";
    let (mut ok, mut err) = (0, 0);
    for _ in 0..10_000 {
        let len = rng.random_range(0..40);
        let body: Vec<u8> = (0..len)
            .map(|_| {
                if rng.random_bool(0.1) {
                    rng.random()
                } else {
                    alphabet[rng.random_range(0..alphabet.len())]
                }
            })
            .collect();
        for ct in [DTMF_RELAY, DTMF] {
            match parse_body(ct, &body) {
                Ok((d, _)) => {
                    assert!(d.event_code() <= 15);
                    ok += 1;
                }
                Err(e) => {
                    assert_eq!(e.status_code(), 400);
                    err += 1;
                }
            }
        }
    }
    assert_eq!(ok + err, 20_000);
}
