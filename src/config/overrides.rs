//! Command-line (and environment) overrides of single settings, so that
//! many servers can run side by side from one configuration file.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use super::error::ConfigErrors;
use super::Config;

/// Settings that can be given on the command line or in the environment.
/// Each wins over the configuration file.
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct ConfigOverrides {
    /// SIP address for both UDP and TCP (sip.udp_listen, sip.tcp_listen)
    #[arg(long, value_name = "ADDR", env = "MEDIAPLANE_SIP_LISTEN")]
    pub sip_listen: Option<SocketAddr>,
    /// HTTP admin API address (http.listen)
    #[arg(long, value_name = "ADDR", env = "MEDIAPLANE_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// IP written in Contact and SDP (sip.advertise_address)
    #[arg(long, value_name = "IP", env = "MEDIAPLANE_ADVERTISE_ADDRESS")]
    pub advertise_address: Option<IpAddr>,
    /// RTP port range, e.g. 20000-20999 (media.rtp_port_min, media.rtp_port_max)
    #[arg(long, value_name = "MIN-MAX", env = "MEDIAPLANE_RTP_PORTS")]
    pub rtp_ports: Option<PortRange>,
    /// Media worker threads, 0 = one per core (media.workers)
    #[arg(long, value_name = "N", env = "MEDIAPLANE_WORKERS")]
    pub workers: Option<usize>,
    /// Seconds without RTP before a call is hung up (media.media_timeout_s)
    #[arg(long, value_name = "SECONDS", env = "MEDIAPLANE_MEDIA_TIMEOUT_S")]
    pub media_timeout_s: Option<u32>,
    /// Voicemail and state folder (storage.data_dir)
    #[arg(long, value_name = "DIR", env = "MEDIAPLANE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Prompt folder (prompts.dir)
    #[arg(long, value_name = "DIR", env = "MEDIAPLANE_PROMPTS_DIR")]
    pub prompts_dir: Option<PathBuf>,
    /// Simultaneous calls before 503 (limits.max_calls)
    #[arg(long, value_name = "N", env = "MEDIAPLANE_MAX_CALLS")]
    pub max_calls: Option<usize>,
}

impl ConfigOverrides {
    /// Applies the overrides and validates the result; on error `config` is
    /// left as it was and the errors name the flags that set the bad values.
    pub fn apply(&self, config: &mut Config) -> Result<(), ConfigErrors> {
        let mut updated = config.clone();
        self.set(&mut updated);
        updated.validate()?;
        *config = updated;
        Ok(())
    }

    /// Sets the given values without validating, recording which flag set
    /// which key.
    pub(crate) fn set(&self, config: &mut Config) {
        // (key set, flag, environment variable)
        let mut set_keys: Vec<(&str, &str, &str)> = Vec::new();
        if let Some(addr) = self.sip_listen {
            config.sip.udp_listen = addr;
            config.sip.tcp_listen = addr;
            set_keys.push(("sip.udp_listen", "sip-listen", "MEDIAPLANE_SIP_LISTEN"));
            set_keys.push(("sip.tcp_listen", "sip-listen", "MEDIAPLANE_SIP_LISTEN"));
        }
        if let Some(addr) = self.http_listen {
            config.http.listen = addr;
            set_keys.push(("http.listen", "http-listen", "MEDIAPLANE_HTTP_LISTEN"));
        }
        if let Some(ip) = self.advertise_address {
            config.sip.advertise_address = Some(ip);
            set_keys.push((
                "sip.advertise_address",
                "advertise-address",
                "MEDIAPLANE_ADVERTISE_ADDRESS",
            ));
        }
        if let Some(range) = self.rtp_ports {
            config.media.rtp_port_min = range.min;
            config.media.rtp_port_max = range.max;
            set_keys.push(("media.rtp_port_min", "rtp-ports", "MEDIAPLANE_RTP_PORTS"));
            set_keys.push(("media.rtp_port_max", "rtp-ports", "MEDIAPLANE_RTP_PORTS"));
        }
        if let Some(workers) = self.workers {
            config.media.workers = workers;
            set_keys.push(("media.workers", "workers", "MEDIAPLANE_WORKERS"));
        }
        if let Some(timeout) = self.media_timeout_s {
            config.media.media_timeout_s = timeout;
            set_keys.push((
                "media.media_timeout_s",
                "media-timeout-s",
                "MEDIAPLANE_MEDIA_TIMEOUT_S",
            ));
        }
        if let Some(dir) = &self.data_dir {
            config.storage.data_dir = dir.clone();
            set_keys.push(("storage.data_dir", "data-dir", "MEDIAPLANE_DATA_DIR"));
        }
        if let Some(dir) = &self.prompts_dir {
            config.prompts.dir = dir.clone();
            set_keys.push(("prompts.dir", "prompts-dir", "MEDIAPLANE_PROMPTS_DIR"));
        }
        if let Some(max_calls) = self.max_calls {
            config.limits.max_calls = max_calls;
            set_keys.push(("limits.max_calls", "max-calls", "MEDIAPLANE_MAX_CALLS"));
        }
        for (key, flag, env) in set_keys {
            config
                .sources
                .overridden
                .insert(key.to_string(), format!("--{flag}/{env}"));
        }
    }
}

/// An inclusive port range written `MIN-MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub min: u16,
    pub max: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a port range (MIN-MAX, e.g. 20000-20999)")]
pub struct PortRangeError(String);

impl FromStr for PortRange {
    type Err = PortRangeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || PortRangeError(text.to_string());
        let (min, max) = text.split_once('-').ok_or_else(error)?;
        Ok(PortRange {
            min: min.trim().parse().map_err(|_| error())?,
            max: max.trim().parse().map_err(|_| error())?,
        })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.min, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        overrides: ConfigOverrides,
    }

    #[test]
    fn port_range_parses() {
        assert_eq!(
            "20000-20999".parse::<PortRange>(),
            Ok(PortRange {
                min: 20000,
                max: 20999
            })
        );
        assert!("20000".parse::<PortRange>().is_err());
        assert!("20000-70000".parse::<PortRange>().is_err());
        assert!("a-b".parse::<PortRange>().is_err());
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "mediaplane",
            "--sip-listen",
            "127.0.0.1:5070",
            "--rtp-ports",
            "30000-30099",
            "--workers",
            "2",
        ])
        .unwrap();
        assert_eq!(
            cli.overrides.sip_listen,
            Some("127.0.0.1:5070".parse().unwrap())
        );
        assert_eq!(
            cli.overrides.rtp_ports,
            Some(PortRange {
                min: 30000,
                max: 30099
            })
        );
        assert_eq!(cli.overrides.workers, Some(2));

        assert!(Cli::try_parse_from(["mediaplane", "--rtp-ports", "30000"]).is_err());
    }

    // Checked on the command definition rather than by setting variables:
    // the environment is shared by all tests running in the process.
    #[test]
    fn every_flag_has_its_environment_variable() {
        use clap::CommandFactory;
        let command = Cli::command();
        let bindings: Vec<(String, String)> = command
            .get_arguments()
            .filter(|arg| arg.get_id() != "help")
            .map(|arg| {
                let flag = arg.get_long().unwrap_or_default().to_string();
                let env = arg
                    .get_env()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (flag, env)
            })
            .collect();
        assert_eq!(bindings.len(), 9);
        for (flag, env) in &bindings {
            let expected = format!("MEDIAPLANE_{}", flag.to_uppercase().replace('-', "_"));
            assert_eq!(env, &expected, "--{flag}");
        }
    }
}
