//! The SDP `a=crypto` attribute of SDP Security Descriptions (RFC 4568):
//! parsing, formatting and fresh keys.
//!
//! Key material never appears in `Debug` output nor in error text; only the
//! `Display` of a [`CryptoAttribute`] writes the key, because that is the SDP
//! value itself, so it must not be logged.

use std::fmt;
use std::str::FromStr;

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use rand::TryRngCore;
use zeroize::Zeroizing;

use super::suite::SrtpSuite;

#[cfg(test)]
mod tests;

/// RFC 4568 §6.1: key-salt is base64 (RFC 3548). Some peers drop the `=`
/// padding of the 28-octet GCM key, so decoding accepts it either way;
/// encoding always pads.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why an `a=crypto` value is refused. The text is meant for the reason or
/// Warning of a SIP 488 and never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdesError {
    #[error("a=crypto lacks its {0}")]
    Missing(&'static str),
    #[error("crypto tag must be 1 to 9 decimal digits")]
    BadTag,
    #[error("unsupported crypto-suite {0}")]
    UnknownSuite(String),
    #[error("only the inline: key method is supported")]
    NotInline,
    #[error("crypto key is not valid base64")]
    BadBase64,
    #[error("{suite} needs {expected} octets of key and salt, got {got}")]
    KeyLength {
        suite: SrtpSuite,
        expected: usize,
        got: usize,
    },
    #[error("crypto key lifetime must be a positive decimal or 2^N")]
    BadLifetime,
    #[error("crypto key lifetime exceeds the 2^{max_exponent} packets allowed for {suite}")]
    LifetimeTooLong { suite: SrtpSuite, max_exponent: u32 },
    #[error(
        "crypto MKI must be value:length with a length of 1 to 128 octets that holds the value"
    )]
    BadMki,
    #[error("all keys of a crypto attribute must have MKIs of the same length")]
    MkiLengthMismatch,
    #[error("several keys in one crypto attribute need an MKI each")]
    MultipleKeysWithoutMki,
    #[error("MKI and several master keys are not supported")]
    MkiUnsupported,
    #[error("{0} is refused: media must be encrypted and authenticated")]
    SecurityDowngrade(&'static str),
    #[error("key derivation rate KDR={0} is not supported, only 0")]
    KdrUnsupported(u8),
    #[error("session parameter {0} is not supported")]
    UnsupportedSessionParam(String),
    #[error("unknown session parameter {0}")]
    UnknownSessionParam(String),
    #[error("malformed session parameter {0}")]
    BadSessionParam(String),
    #[error("no random source for SRTP keys")]
    Random,
    #[error("no acceptable crypto attribute offered")]
    NoneOffered,
    #[error("no acceptable crypto attribute offered (first refused: {0})")]
    NoneAcceptable(Box<SdesError>),
    #[error("answer's crypto tag {0} was not offered")]
    TagNotOffered(u32),
    #[error("answer's crypto-suite {answered} differs from the {offered} offered with that tag")]
    SuiteMismatch {
        offered: SrtpSuite,
        answered: SrtpSuite,
    },
}

/// One `inline:` key-param (RFC 4568 §6.1).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyParams {
    /// Master key followed by master salt, exactly the suite's length.
    pub master_key_salt: Zeroizing<Vec<u8>>,
    /// Packets the key may protect (RFC 4568 §6.1); `None` means the
    /// suite's maximum.
    pub lifetime: Option<u64>,
    /// Master Key Identifier value and its length in octets.
    pub mki: Option<(u32, u8)>,
}

impl fmt::Debug for KeyParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyParams")
            .field(
                "master_key_salt",
                &format_args!("<{} octets redacted>", self.master_key_salt.len()),
            )
            .field("lifetime", &self.lifetime)
            .field("mki", &self.mki)
            .finish()
    }
}

/// The value of an `a=crypto` attribute (RFC 4568 §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoAttribute {
    pub tag: u32,
    pub suite: SrtpSuite,
    /// Never empty once parsed or generated.
    pub keys: Vec<KeyParams>,
    /// Session parameters we understand and accept, as written.
    pub session_params: Vec<String>,
}

impl CryptoAttribute {
    /// Parses an attribute value (what follows `a=crypto:`).
    pub fn parse(value: &str) -> Result<Self, SdesError> {
        let mut fields = value.split_ascii_whitespace();
        let tag = parse_tag(fields.next().ok_or(SdesError::Missing("tag"))?)?;
        let suite_name = fields.next().ok_or(SdesError::Missing("crypto-suite"))?;
        let suite = suite_name
            .parse::<SrtpSuite>()
            .map_err(|_| SdesError::UnknownSuite(printable(suite_name)))?;
        let key_params = fields.next().ok_or(SdesError::Missing("key parameters"))?;
        let keys = key_params
            .split(';')
            .map(|param| parse_key_param(suite, param))
            .collect::<Result<Vec<_>, _>>()?;
        // RFC 4568 §6.1: with several keys each packet names its key by MKI,
        // and all MKIs have the same length.
        if keys.len() > 1 && keys.iter().any(|k| k.mki.is_none()) {
            return Err(SdesError::MultipleKeysWithoutMki);
        }
        let mut mki_lengths = keys.iter().filter_map(|k| k.mki.map(|(_, len)| len));
        if let Some(first) = mki_lengths.next() {
            if mki_lengths.any(|len| len != first) {
                return Err(SdesError::MkiLengthMismatch);
            }
        }
        let session_params = fields
            .map(|param| check_session_param(param).map(|()| param.to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CryptoAttribute {
            tag,
            suite,
            keys,
            session_params,
        })
    }

    /// A line with a fresh master key and salt and no lifetime, MKI or
    /// session parameters.
    ///
    /// The key comes straight from the operating system's CSPRNG (`OsRng`,
    /// getrandom): SRTP's confidentiality and authentication rest entirely
    /// on master keys an attacker cannot predict (RFC 3711 §9, RFC 4086),
    /// and this is the source user-space generators seed from; a fallible
    /// call also lets a failing source surface as an error, not a panic.
    pub fn generate(tag: u32, suite: SrtpSuite) -> Result<Self, SdesError> {
        let mut master_key_salt = Zeroizing::new(vec![0u8; suite.key_salt_len()]);
        rand::rngs::OsRng
            .try_fill_bytes(&mut master_key_salt)
            .map_err(|_| SdesError::Random)?;
        Ok(CryptoAttribute {
            tag,
            suite,
            keys: vec![KeyParams {
                master_key_salt,
                lifetime: None,
                mki: None,
            }],
            session_params: Vec::new(),
        })
    }

    /// One fresh line per suite of `suites`, tagged 1, 2, … in that order
    /// (RFC 4568 §7.1: the offerer lists them in its preference order).
    pub fn generate_offer(suites: &[SrtpSuite]) -> Result<Vec<Self>, SdesError> {
        (1u32..)
            .zip(suites)
            .map(|(tag, &suite)| CryptoAttribute::generate(tag, suite))
            .collect()
    }

    /// The master key and salt to run SRTP with, if the line is one we can
    /// run: exactly one key and no MKI, since `webrtc-srtp` reads no MKI
    /// from packets.
    pub fn single_key(&self) -> Result<&KeyParams, SdesError> {
        match self.keys.as_slice() {
            [key] if key.mki.is_none() => Ok(key),
            _ => Err(SdesError::MkiUnsupported),
        }
    }
}

impl FromStr for CryptoAttribute {
    type Err = SdesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CryptoAttribute::parse(s)
    }
}

/// Writes the attribute value, key included: for the SDP body only.
impl fmt::Display for CryptoAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.tag, self.suite)?;
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            let encoded = Zeroizing::new(BASE64.encode(&*key.master_key_salt));
            write!(f, "inline:{}", &*encoded)?;
            match key.lifetime {
                Some(n) if n.is_power_of_two() => write!(f, "|2^{}", n.trailing_zeros())?,
                Some(n) => write!(f, "|{n}")?,
                None => {}
            }
            if let Some((value, len)) = key.mki {
                write!(f, "|{value}:{len}")?;
            }
        }
        for param in &self.session_params {
            write!(f, " {param}")?;
        }
        Ok(())
    }
}

/// RFC 4568 §9: tag = 1*9DIGIT.
fn parse_tag(text: &str) -> Result<u32, SdesError> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SdesError::BadTag);
    }
    text.parse().map_err(|_| SdesError::BadTag)
}

/// RFC 4568 §6.1: "inline:" key-salt ["|" lifetime] ["|" MKI ":" length].
fn parse_key_param(suite: SrtpSuite, param: &str) -> Result<KeyParams, SdesError> {
    let info = param.strip_prefix("inline:").ok_or(SdesError::NotInline)?;
    let mut parts = info.split('|');
    let key_text = parts.next().unwrap_or_default();
    // Wrapped at once so that a key of the wrong length is wiped too.
    let master_key_salt =
        Zeroizing::new(BASE64.decode(key_text).map_err(|_| SdesError::BadBase64)?);
    if master_key_salt.len() != suite.key_salt_len() {
        return Err(SdesError::KeyLength {
            suite,
            expected: suite.key_salt_len(),
            got: master_key_salt.len(),
        });
    }
    let mut lifetime = None;
    let mut mki = None;
    for part in parts {
        if mki.is_some() {
            // Nothing may follow the MKI.
            return Err(SdesError::BadMki);
        }
        if part.contains(':') {
            mki = Some(parse_mki(part)?);
        } else if lifetime.is_none() {
            lifetime = Some(parse_lifetime(suite, part)?);
        } else {
            return Err(SdesError::BadLifetime);
        }
    }
    Ok(KeyParams {
        master_key_salt,
        lifetime,
        mki,
    })
}

/// RFC 4568 §6.1: lifetime = ["2^"] 1*(DIGIT), at most the suite's maximum.
fn parse_lifetime(suite: SrtpSuite, text: &str) -> Result<u64, SdesError> {
    let too_long = SdesError::LifetimeTooLong {
        suite,
        max_exponent: suite.max_lifetime_exponent(),
    };
    let max = 1u64 << suite.max_lifetime_exponent();
    let (digits, power) = match text.strip_prefix("2^") {
        Some(exponent) => (exponent, true),
        None => (text, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SdesError::BadLifetime);
    }
    // All digits: a parse failure can only be overflow, hence too long.
    let number: u64 = digits.parse().map_err(|_| too_long.clone())?;
    let value = if power {
        if number > u64::from(suite.max_lifetime_exponent()) {
            return Err(too_long);
        }
        1u64 << number
    } else {
        number
    };
    if value == 0 {
        return Err(SdesError::BadLifetime);
    }
    if value > max {
        return Err(too_long);
    }
    Ok(value)
}

/// RFC 4568 §6.1: MKI = 1*DIGIT ":" 1*3DIGIT, length 1 to 128 octets.
fn parse_mki(text: &str) -> Result<(u32, u8), SdesError> {
    let (value, length) = text.split_once(':').ok_or(SdesError::BadMki)?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(value) || !all_digits(length) || length.len() > 3 {
        return Err(SdesError::BadMki);
    }
    let value: u32 = value.parse().map_err(|_| SdesError::BadMki)?;
    let length: u8 = length.parse().map_err(|_| SdesError::BadMki)?;
    if !(1..=128).contains(&length) {
        return Err(SdesError::BadMki);
    }
    // The value must fit in `length` octets.
    if length < 4 && u64::from(value) >= 1u64 << (8 * u32::from(length)) {
        return Err(SdesError::BadMki);
    }
    Ok((value, length))
}

/// RFC 4568 §6.3: an attribute with a session parameter the answerer does
/// not understand or support cannot be accepted.
fn check_session_param(param: &str) -> Result<(), SdesError> {
    let (name, value) = match param.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (param, None),
    };
    match (name, value) {
        // RFC 4568 §6.3: we insist on encryption and authentication.
        ("UNENCRYPTED_SRTP", None) => Err(SdesError::SecurityDowngrade("UNENCRYPTED_SRTP")),
        ("UNENCRYPTED_SRTCP", None) => Err(SdesError::SecurityDowngrade("UNENCRYPTED_SRTCP")),
        ("UNAUTHENTICATED_SRTP", None) => Err(SdesError::SecurityDowngrade("UNAUTHENTICATED_SRTP")),
        // RFC 4568 §6.3: KDR is 1 to 24 (a power of two); absent means 0,
        // and `webrtc-srtp` derives keys only once. "KDR=0" is tolerated as
        // the same thing.
        ("KDR", Some(rate)) if rate.len() <= 2 && rate.bytes().all(|b| b.is_ascii_digit()) => {
            match rate.parse::<u8>() {
                Ok(0) => Ok(()),
                Ok(rate @ 1..=24) => Err(SdesError::KdrUnsupported(rate)),
                _ => Err(SdesError::BadSessionParam(printable(param))),
            }
        }
        // RFC 4568 §6.3: FEC_ORDER is only the order relative to FEC, which we do not use.
        ("FEC_ORDER", Some("FEC_SRTP" | "SRTP_FEC")) => Ok(()),
        // RFC 4568 §6.3: FEC_KEY is a separate key for FEC packets.
        ("FEC_KEY", Some(_)) => Err(SdesError::UnsupportedSessionParam("FEC_KEY".into())),
        // RFC 4568 §6.3: WSH is a hint of at least 64; our replay window is 64.
        ("WSH", Some(size)) if size.bytes().all(|b| b.is_ascii_digit()) => match size.parse() {
            Ok(64..=u32::MAX) => Ok(()),
            _ => Err(SdesError::BadSessionParam(printable(param))),
        },
        ("KDR" | "FEC_ORDER" | "WSH" | "UNENCRYPTED_SRTP" | "UNENCRYPTED_SRTCP", _)
        | ("UNAUTHENTICATED_SRTP" | "FEC_KEY", _) => {
            Err(SdesError::BadSessionParam(printable(param)))
        }
        _ => Err(SdesError::UnknownSessionParam(printable(name))),
    }
}

/// A peer-supplied token made safe to echo in a reason: visible ASCII only,
/// and short.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(32)
        .collect()
}
