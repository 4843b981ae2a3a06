//! The Opus media type parameters of an `a=fmtp` line (RFC 7587 §6.1).
//!
//! Every parameter is a receiver's wish or a sender's hint, each with a
//! default, so reading is lenient: unknown keys are ignored (RFC 4855 §3),
//! a value that does not parse leaves that parameter at its default. A
//! garbled line therefore means "defaults", never a failed call.

use std::fmt::Write;

/// The highest rate Opus codes at, and the default `maxplaybackrate`
/// (RFC 7587 §6.1).
pub const FULLBAND_HZ: u32 = 48_000;

/// The lowest `maxplaybackrate` that makes sense: narrowband (RFC 7587 §6.1).
const NARROWBAND_HZ: u32 = 8000;

/// RFC 7587 §6.1 bounds `maxaveragebitrate` to 6000–510000 bit/s.
const BITRATE_RANGE: std::ops::RangeInclusive<u32> = 6000..=510_000;

/// Packet times Opus can send (RFC 6716 §2.1.4 frames up to 120 ms per
/// packet, RFC 6716 §3.2.5).
const PTIME_RANGE: std::ops::RangeInclusive<u32> = 3..=120;

/// What one side's Opus fmtp says. Read from the peer, these bind our
/// encoder; written by us, they tell the peer how to send to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpusParams {
    /// `useinbandfec`: the receiver can use in-band FEC, so the sender
    /// should send it (RFC 7587 §6.1, default 0).
    pub use_inband_fec: bool,
    /// `usedtx`: the receiver prefers discontinuous transmission (default 0).
    pub use_dtx: bool,
    /// `maxplaybackrate`: the highest audio rate the receiver renders, in
    /// Hz, 8000–48000 (default 48000). The sender need not code more
    /// bandwidth than this.
    pub max_playback_rate: u32,
    /// `stereo`: the receiver prefers stereo (default 0). Only a preference:
    /// every Opus packet can be decoded as mono (RFC 7587 §6.1).
    pub stereo: bool,
    /// `sprop-stereo`: the sender is likely to send stereo (default 0).
    pub sprop_stereo: bool,
    /// `maxaveragebitrate`: the most the receiver wants on average, bit/s.
    pub max_average_bitrate: Option<u32>,
    /// `ptime` in ms: RFC 7587 §6.1 lets the fmtp carry it as well as `a=ptime`.
    pub ptime_ms: Option<u32>,
    /// `minptime` in ms: the shortest packet the receiver wants.
    pub min_ptime_ms: Option<u32>,
    /// `maxptime` in ms: the longest packet the receiver takes.
    pub max_ptime_ms: Option<u32>,
}

impl Default for OpusParams {
    /// The values an absent parameter has (RFC 7587 §6.1).
    fn default() -> Self {
        OpusParams {
            use_inband_fec: false,
            use_dtx: false,
            max_playback_rate: FULLBAND_HZ,
            stereo: false,
            sprop_stereo: false,
            max_average_bitrate: None,
            ptime_ms: None,
            min_ptime_ms: None,
            max_ptime_ms: None,
        }
    }
}

impl OpusParams {
    /// What mediaplane asks for as a receiver: FEC, full bandwidth, mono
    /// both ways (our mixer and echo paths are mono).
    pub fn ours() -> Self {
        OpusParams {
            use_inband_fec: true,
            ..OpusParams::default()
        }
    }

    /// Reads an fmtp value (the part after `a=fmtp:<pt> `). Never fails.
    pub fn parse(fmtp: &str) -> Self {
        let mut params = OpusParams::default();
        // RFC 7587 §7 writes `key=value` pairs separated by `;`, usually
        // with a space after it.
        for pair in fmtp.split(';') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            let key = key.trim();
            let value = value.trim();
            // RFC 4855 §3: parameter names are case-insensitive.
            let key = key.to_ascii_lowercase();
            match key.as_str() {
                "useinbandfec" => set_flag(&mut params.use_inband_fec, value),
                "usedtx" => set_flag(&mut params.use_dtx, value),
                "stereo" => set_flag(&mut params.stereo, value),
                "sprop-stereo" => set_flag(&mut params.sprop_stereo, value),
                "maxplaybackrate" => {
                    if let Some(rate) = number(value) {
                        // Above 48 kHz means "full band"; below 8 kHz is
                        // nonsense and keeps the default.
                        if rate >= NARROWBAND_HZ {
                            params.max_playback_rate = rate.min(FULLBAND_HZ);
                        }
                    }
                }
                "maxaveragebitrate" => {
                    if let Some(rate) = number(value).filter(|r| BITRATE_RANGE.contains(r)) {
                        params.max_average_bitrate = Some(rate);
                    }
                }
                "ptime" => params.ptime_ms = ptime(value).or(params.ptime_ms),
                "minptime" => params.min_ptime_ms = ptime(value).or(params.min_ptime_ms),
                "maxptime" => params.max_ptime_ms = ptime(value).or(params.max_ptime_ms),
                _ => {}
            }
        }
        params
    }

    /// The fmtp value announcing these parameters, as RFC 7587 §7 writes
    /// it: the receive wishes always, the rest when set.
    pub fn to_fmtp(&self) -> String {
        let mut out = format!(
            "useinbandfec={}; maxplaybackrate={}; stereo={}; sprop-stereo={}",
            u8::from(self.use_inband_fec),
            self.max_playback_rate,
            u8::from(self.stereo),
            u8::from(self.sprop_stereo),
        );
        // Writing to a String cannot fail.
        if let Some(rate) = self.max_average_bitrate {
            let _ = write!(out, "; maxaveragebitrate={rate}");
        }
        if self.use_dtx {
            out.push_str("; usedtx=1");
        }
        if let Some(ms) = self.min_ptime_ms {
            let _ = write!(out, "; minptime={ms}");
        }
        out
    }
}

/// RFC 7587 §6.1 flags are `0` or `1`; anything else leaves the default.
fn set_flag(flag: &mut bool, value: &str) {
    match value {
        "1" => *flag = true,
        "0" => *flag = false,
        _ => {}
    }
}

fn number(value: &str) -> Option<u32> {
    value.parse().ok()
}

fn ptime(value: &str) -> Option<u32> {
    number(value).filter(|ms| PTIME_RANGE.contains(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typical_webrtc_line_is_read() {
        let p = OpusParams::parse("minptime=10;useinbandfec=1");
        assert!(p.use_inband_fec);
        assert_eq!(p.min_ptime_ms, Some(10));
        assert_eq!(p.max_playback_rate, FULLBAND_HZ);
        assert!(!p.stereo);
    }

    #[test]
    fn every_parameter_is_read_with_spaces_and_any_case() {
        let p = OpusParams::parse(
            " UseInbandFEC = 1 ; maxplaybackrate=16000; stereo=1; sprop-stereo=1; \
             maxaveragebitrate=20000; usedtx=1; ptime=40; maxptime=60",
        );
        assert_eq!(
            p,
            OpusParams {
                use_inband_fec: true,
                use_dtx: true,
                max_playback_rate: 16_000,
                stereo: true,
                sprop_stereo: true,
                max_average_bitrate: Some(20_000),
                ptime_ms: Some(40),
                min_ptime_ms: None,
                max_ptime_ms: Some(60),
            }
        );
    }

    #[test]
    fn garbage_leaves_defaults_and_never_fails() {
        let garbage = [
            "",
            ";;;",
            "useinbandfec",
            "useinbandfec=yes; maxplaybackrate=lots; maxaveragebitrate=-5",
            "maxplaybackrate=4000; maxaveragebitrate=10; ptime=0; minptime=99999",
            "=1; =; stereo==1",
            "\u{0}\u{7f}\u{fffd}==;;",
            "0-15",
        ];
        for line in garbage {
            assert_eq!(OpusParams::parse(line), OpusParams::default(), "{line:?}");
        }
        let long = "x=1;".repeat(2500);
        assert_eq!(OpusParams::parse(&long), OpusParams::default());
    }

    #[test]
    fn playback_rates_above_fullband_mean_fullband() {
        assert_eq!(
            OpusParams::parse("maxplaybackrate=96000").max_playback_rate,
            FULLBAND_HZ
        );
    }

    #[test]
    fn ours_asks_for_fec_and_mono_and_round_trips() {
        let ours = OpusParams::ours();
        assert_eq!(
            ours.to_fmtp(),
            "useinbandfec=1; maxplaybackrate=48000; stereo=0; sprop-stereo=0"
        );
        assert_eq!(OpusParams::parse(&ours.to_fmtp()), ours);
        let capped = OpusParams {
            max_average_bitrate: Some(32_000),
            use_dtx: true,
            min_ptime_ms: Some(20),
            ..ours
        };
        assert_eq!(OpusParams::parse(&capped.to_fmtp()), capped);
    }
}
