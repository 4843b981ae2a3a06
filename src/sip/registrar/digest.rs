//! Digest authentication as SIP uses it (RFC 3261 §22.4): the hashes of
//! RFC 7616 §3.4 with the algorithms RFC 8760 adds to SIP (MD5, SHA-256),
//! the challenge we send and the credentials we read back.

use md5::Md5;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::params::parse_params;

/// A digest algorithm we offer and verify. The `-sess` variants are not
/// offered, so a client has no reason to use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    /// In the order challenges are sent: RFC 8760 §2.4 asks for the
    /// preferred algorithm first, and SHA-256 is preferred over MD5.
    pub const PREFERRED_FIRST: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Md5];

    /// The `algorithm` token (RFC 8760 §2.2).
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Tokens are case-insensitive (RFC 7616 §3.3).
    pub fn from_token(token: &str) -> Option<Algorithm> {
        [Algorithm::Md5, Algorithm::Sha256]
            .into_iter()
            .find(|a| a.token().eq_ignore_ascii_case(token))
    }

    /// Hex digits of a hash value.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha256 => 64,
        }
    }

    /// H(parts joined by ':'), lower-case hex (RFC 7616 §3.4).
    pub fn hash(self, parts: &[&str]) -> String {
        let joined = parts.join(":");
        match self {
            Algorithm::Md5 => hex::encode(Md5::digest(joined.as_bytes())),
            Algorithm::Sha256 => hex::encode(Sha256::digest(joined.as_bytes())),
        }
    }
}

/// HA1 = H(username:realm:password) (RFC 7616 §3.4.2, no `-sess`).
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&[username, realm, password])
}

/// `qop=auth` fields of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QopAuth {
    /// The nonce count as sent (8 hex digits), hashed as written.
    pub nc_text: String,
    pub nc: u32,
    pub cnonce: String,
}

/// The `response` value a client that knows HA1 computes (RFC 7616 §3.4.1;
/// without qop, the RFC 2069 form RFC 2617 §3.2.2.1 keeps).
pub fn expected_response(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    qop: Option<&QopAuth>,
    method: &str,
    uri: &str,
) -> String {
    let ha2 = algorithm.hash(&[method, uri]);
    match qop {
        Some(q) => algorithm.hash(&[ha1, nonce, &q.nc_text, &q.cnonce, "auth", &ha2]),
        None => algorithm.hash(&[ha1, nonce, &ha2]),
    }
}

/// Compares two hex digests without an early exit, so that the time taken
/// tells nothing of how much of a guess was right. Hex case is ignored.
pub fn digests_match(expected: &str, received: &str) -> bool {
    let received = received.to_ascii_lowercase();
    expected.len() == received.len() && bool::from(expected.as_bytes().ct_eq(received.as_bytes()))
}

/// One `WWW-Authenticate` value (RFC 7616 §3.3 with RFC 3261 §22.4).
pub fn challenge(
    realm: &str,
    nonce: &str,
    opaque: &str,
    algorithm: Algorithm,
    stale: bool,
) -> String {
    let mut value = format!(
        "Digest realm=\"{realm}\", qop=\"auth\", algorithm={}, nonce=\"{nonce}\", opaque=\"{opaque}\"",
        algorithm.token()
    );
    if stale {
        value.push_str(", stale=true");
    }
    value
}

/// What a client sent in `Authorization`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    /// None: the RFC 2069 form without qop.
    pub qop: Option<QopAuth>,
    pub opaque: Option<String>,
}

/// Why an `Authorization` header could not be read; each becomes the
/// reason phrase of a 400.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("Authorization scheme is not Digest")]
    NotDigest,
    #[error("Malformed Authorization: {0}")]
    Syntax(&'static str),
    #[error("Authorization lacks {0}")]
    Missing(&'static str),
    #[error("Authorization repeats {0}")]
    Repeated(String),
    #[error("Unsupported digest algorithm {0}")]
    Algorithm(String),
    #[error("Unsupported qop {0}")]
    Qop(String),
    #[error("Malformed nc {0}")]
    NonceCount(String),
    #[error("Malformed digest response")]
    Response,
    #[error("Digest userhash is not supported")]
    Userhash,
}

/// Parses an `Authorization` value: `Digest` then comma-separated
/// `name=value` pairs, values tokens or quoted strings (RFC 7616 §3.4).
pub fn parse_authorization(value: &str) -> Result<Credentials, DigestError> {
    let params = DigestParams::parse(value)?;
    let get = |name: &'static str| params.get(name);
    let required = |name: &'static str| get(name).ok_or(DigestError::Missing(name));
    if get("username*").is_some() || get("userhash").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(DigestError::Userhash);
    }
    // RFC 2617 §3.2.2: no algorithm means MD5.
    let algorithm = match get("algorithm") {
        None => Algorithm::Md5,
        Some(token) => {
            Algorithm::from_token(token).ok_or_else(|| DigestError::Algorithm(token.into()))?
        }
    };
    let qop = match get("qop") {
        None => None,
        Some(q) if q.eq_ignore_ascii_case("auth") => {
            let nc_text = required("nc")?;
            let nc = (nc_text.len() == 8)
                .then(|| u32::from_str_radix(nc_text, 16).ok())
                .flatten()
                .ok_or_else(|| DigestError::NonceCount(nc_text.into()))?;
            Some(QopAuth {
                nc_text: nc_text.to_string(),
                nc,
                cnonce: required("cnonce")?.to_string(),
            })
        }
        Some(q) => return Err(DigestError::Qop(q.into())),
    };
    let response = required("response")?;
    if response.len() != algorithm.hex_len() || !response.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(DigestError::Response);
    }
    Ok(Credentials {
        username: required("username")?.to_string(),
        realm: required("realm")?.to_string(),
        nonce: required("nonce")?.to_string(),
        uri: required("uri")?.to_string(),
        response: response.to_string(),
        algorithm,
        qop,
        opaque: get("opaque").map(str::to_string),
    })
}

/// What a `WWW-Authenticate` challenge offers, as a client reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// `qop` lists `auth`.
    pub qop_auth: bool,
    pub stale: bool,
}

/// Parses a `WWW-Authenticate` value (RFC 7616 §3.3).
pub fn parse_challenge(value: &str) -> Result<Challenge, DigestError> {
    let params = DigestParams::parse(value)?;
    let get = |name: &str| params.get(name).map(str::to_string);
    let algorithm = match get("algorithm") {
        None => Algorithm::Md5,
        Some(token) => Algorithm::from_token(&token).ok_or(DigestError::Algorithm(token))?,
    };
    Ok(Challenge {
        realm: get("realm").ok_or(DigestError::Missing("realm"))?,
        nonce: get("nonce").ok_or(DigestError::Missing("nonce"))?,
        opaque: get("opaque"),
        algorithm,
        qop_auth: get("qop").is_some_and(|q| {
            q.split(',')
                .any(|option| option.trim().eq_ignore_ascii_case("auth"))
        }),
        stale: get("stale").is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

/// The parameters of a `Digest` credentials or challenge value (RFC 7616
/// §3.3, §3.4): the scheme, then comma-separated `name=value` pairs.
struct DigestParams(Vec<(String, String)>);

impl DigestParams {
    fn parse(value: &str) -> Result<Self, DigestError> {
        let value = value.trim();
        let (scheme, rest) = value
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(DigestError::NotDigest);
        }
        Ok(DigestParams(parse_params(rest)?))
    }

    /// A parameter's value; names are case-insensitive.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7616 §3.9.1: the same request with MD5 and with SHA-256.
    const USER: &str = "Mufasa";
    const REALM: &str = "http-auth@example.org";
    const PASSWORD: &str = "Circle of Life";
    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc_qop() -> QopAuth {
        QopAuth {
            nc_text: "00000001".into(),
            nc: 1,
            cnonce: CNONCE.into(),
        }
    }

    #[test]
    fn rfc7616_md5_example() {
        let ha1 = ha1(Algorithm::Md5, USER, REALM, PASSWORD);
        let response = expected_response(
            Algorithm::Md5,
            &ha1,
            NONCE,
            Some(&rfc_qop()),
            "GET",
            "/dir/index.html",
        );
        assert_eq!(response, "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rfc7616_sha256_example() {
        let ha1 = ha1(Algorithm::Sha256, USER, REALM, PASSWORD);
        let response = expected_response(
            Algorithm::Sha256,
            &ha1,
            NONCE,
            Some(&rfc_qop()),
            "GET",
            "/dir/index.html",
        );
        assert_eq!(
            response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn response_without_qop_is_the_rfc2069_form() {
        let ha1 = ha1(Algorithm::Md5, USER, REALM, PASSWORD);
        let ha2 = Algorithm::Md5.hash(&["REGISTER", "sip:example.org"]);
        assert_eq!(
            expected_response(
                Algorithm::Md5,
                &ha1,
                "n1",
                None,
                "REGISTER",
                "sip:example.org"
            ),
            Algorithm::Md5.hash(&[&ha1, "n1", &ha2])
        );
        // H("") known answers pin the hash functions themselves.
        assert_eq!(
            Algorithm::Md5.hash(&[""]),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            Algorithm::Sha256.hash(&[""]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn parses_the_rfc_authorization_header() {
        let header = format!(
            "Digest username=\"{USER}\", realm=\"{REALM}\", uri=\"/dir/index.html\", \
             algorithm=SHA-256, nonce=\"{NONCE}\", nc=00000001, cnonce=\"{CNONCE}\", \
             qop=auth, response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
        let c = parse_authorization(&header).unwrap();
        assert_eq!(c.username, USER);
        assert_eq!(c.realm, REALM);
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.qop, Some(rfc_qop()));
        assert_eq!(c.uri, "/dir/index.html");
        assert_eq!(
            c.opaque.as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
    }

    #[test]
    fn quoted_pairs_and_defaults() {
        let c = parse_authorization(
            "digest USERNAME=\"a\\\"b\",realm=\"r\",nonce=\"n\",uri=\"sip:x\",\
             response=\"0123456789ABCDEF0123456789abcdef\"",
        )
        .unwrap();
        assert_eq!(c.username, "a\"b");
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert_eq!(c.qop, None);
        assert!(digests_match(
            "0123456789abcdef0123456789abcdef",
            &c.response
        ));
        assert!(!digests_match(
            "0123456789abcdef0123456789abcdee",
            &c.response
        ));
        assert!(!digests_match("0123", &c.response));
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        let base = "username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:x\"";
        let md5 = "response=\"0123456789abcdef0123456789abcdef\"";
        let cases = [
            ("Basic dXNlcjpwYXNz".to_string(), DigestError::NotDigest),
            (
                format!("Digest {base}, {md5}, qop=auth, cnonce=\"c\""),
                DigestError::Missing("nc"),
            ),
            (
                format!("Digest {base}, {md5}, qop=auth, nc=1, cnonce=\"c\""),
                DigestError::NonceCount("1".into()),
            ),
            (
                format!("Digest {base}, {md5}, qop=auth-int, nc=00000001, cnonce=\"c\""),
                DigestError::Qop("auth-int".into()),
            ),
            (
                format!("Digest {base}, {md5}, algorithm=SHA-512-256"),
                DigestError::Algorithm("SHA-512-256".into()),
            ),
            (
                format!("Digest {base}, {md5}, algorithm=SHA-256"),
                DigestError::Response,
            ),
            (format!("Digest {base}"), DigestError::Missing("response")),
            (
                format!("Digest {base}, {md5}, realm=\"other\""),
                DigestError::Repeated("realm".into()),
            ),
            (
                format!("Digest {base}, {md5}, userhash=true"),
                DigestError::Userhash,
            ),
            (
                "Digest username=\"u".to_string(),
                DigestError::Syntax("unterminated quoted string"),
            ),
            (
                "Digest username=\"u\" realm=\"r\"".to_string(),
                DigestError::Syntax("missing comma between parameters"),
            ),
            (
                "Digest username".to_string(),
                DigestError::Syntax("parameter without ="),
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(parse_authorization(&header), Err(expected), "{header}");
        }
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        for header in [
            "",
            "Digest",
            "Digest ",
            "Digest ,,,",
            "Digest =",
            "Digest a=\"\\",
            "Digest é=1",
            "Digest a=é",
            "Digest a=\"é\", b",
            "Digest username=\"\u{0}\"",
            "Digest nc=ffffffff, qop=auth",
        ] {
            assert!(parse_authorization(header).is_err(), "{header:?}");
            assert!(parse_challenge(header).is_err(), "{header:?}");
        }
    }

    #[test]
    fn challenge_carries_every_parameter() {
        let value = challenge("mediaplane", "abc", "xyz", Algorithm::Sha256, true);
        assert_eq!(
            value,
            "Digest realm=\"mediaplane\", qop=\"auth\", algorithm=SHA-256, \
             nonce=\"abc\", opaque=\"xyz\", stale=true"
        );
        assert!(!challenge("r", "n", "o", Algorithm::Md5, false).contains("stale"));
        assert_eq!(
            parse_challenge(&value),
            Ok(Challenge {
                realm: "mediaplane".into(),
                nonce: "abc".into(),
                opaque: Some("xyz".into()),
                algorithm: Algorithm::Sha256,
                qop_auth: true,
                stale: true,
            })
        );
        let old =
            parse_challenge("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int,auth\"").unwrap();
        assert_eq!(old.algorithm, Algorithm::Md5);
        assert!(old.qop_auth && !old.stale);
    }
}
