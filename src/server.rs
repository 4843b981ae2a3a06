//! Wiring: starts the SIP, media and HTTP parts from a configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::api::{self, ApiState, MailboxApi};
use crate::apps::{IvrMenus, Voicemail};
use crate::config::{Config, ConfigErrors};
use crate::media::pool::PoolError;
use crate::media::{MediaPool, PortAllocator};
use crate::prompts::{PromptCatalogue, PromptError};
use crate::routing::DialPlan;
use crate::sip::core::{CoreSettings, SipCore};
use crate::sip::registrar::Registrar;
use crate::sip::tls::{TlsFileError, TlsIdentity, TrustFileError, TrustedCertificates};
use crate::sip::transaction::TimerConfig;
use crate::sip::transport::{CoreQuery, SipDriver, SipHandle, SipListeners};
use crate::store::{FsMessageStore, MessageStore};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("configuration:\n{0}")]
    Config(#[from] ConfigErrors),
    #[error("prompts folder {path}: {source}")]
    Prompts {
        path: PathBuf,
        #[source]
        source: PromptError,
    },
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Media(#[from] PoolError),
    /// The files were checked with the configuration; this is a file
    /// changed since, or a certificate rustls refuses to serve.
    #[error("SIP TLS certificate: {0}")]
    TlsFiles(#[from] TlsFileError),
    #[error("SIP TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// As `TlsFiles`, for `sip.tls_trusted_certificates`.
    #[error("SIP TLS trusted certificates: {0}")]
    TrustFile(#[from] TrustFileError),
}

/// A running server.
pub struct Server {
    shutdown: watch::Sender<bool>,
    sip: SipHandle,
    http_addr: SocketAddr,
    ports: Arc<PortAllocator>,
    http_task: JoinHandle<()>,
    /// Rescans the prompt folder (`prompts.reload_s`).
    reload_task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds every socket, starts the media workers and the SIP and HTTP tasks
    /// on the current tokio runtime.
    pub async fn start(config: Config) -> Result<Server, ServerError> {
        let prompts = PromptCatalogue::load(&config.prompts.dir, &config.prompts.language)
            .map_err(|source| ServerError::Prompts {
                path: config.prompts.dir.clone(),
                source,
            })?;
        for problem in prompts.problems() {
            tracing::warn!(%problem, "prompt skipped");
        }
        recover_recordings(&config.storage.data_dir);
        let messages: Arc<dyn MessageStore> = Arc::new(FsMessageStore::new(
            config.storage.data_dir.join("voicemail"),
        ));
        recover_messages(messages.as_ref());
        let dialplan = DialPlan::compile(&config.routes)?;
        let udp = bind_udp(config.sip.udp_listen).await?;
        let tcp = TcpListener::bind(config.sip.tcp_listen)
            .await
            .map_err(|source| ServerError::Bind {
                what: "SIP TCP",
                addr: config.sip.tcp_listen,
                source,
            })?;
        let identity = tls_identity(&config.sip)?;
        let tls = bind_tls(&config.sip, identity.as_ref()).await?;
        let tls_client = tls_client(&config.sip, identity.as_ref())?;
        let http = TcpListener::bind(config.http.listen)
            .await
            .map_err(|source| ServerError::Bind {
                what: "HTTP",
                addr: config.http.listen,
                source,
            })?;
        let sip_port = udp.local_addr().map(|a| a.port()).unwrap_or(5060);
        let http_addr = http.local_addr().unwrap_or(config.http.listen);
        let media = &config.media;
        let ports = Arc::new(PortAllocator::new(
            media.bind_address,
            media.rtp_port_min,
            media.rtp_port_max,
        ));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let pool = MediaPool::start(media.worker_count(), ports.clone(), events_tx)?;
        let t1 = config.sip.t1();
        let settings = CoreSettings {
            user_agent: config.sip.user_agent.clone(),
            advertise: config.sip.advertise_address,
            sip_port,
            sip_tcp_port: tcp.local_addr().map(|a| a.port()).unwrap_or(sip_port),
            sip_tls_port: tls
                .as_ref()
                .and_then(|(listener, _)| listener.local_addr().ok())
                .map(|a| a.port()),
            codecs: media.codecs.clone(),
            ptime_ms: media.ptime_ms,
            jitter_delay_ms: media.jitter_delay_ms,
            rtp_latching: media.rtp_latching,
            media_timeout: media.media_timeout(),
            max_calls: config.limits.max_calls,
            retry_after_s: config.limits.retry_after_s,
            max_message_bytes: config.sip.max_message_bytes,
            moh_prompt: Some(media.moh_prompt.clone()).filter(|name| !name.is_empty()),
            // One CNAME for the whole process (RFC 3550 §6.5.1).
            rtcp: crate::media::session::RtcpSetup::new(media.rtcp_interval()),
            srtp: media.srtp.clone(),
            timers: TimerConfig {
                t1,
                t2: TimerConfig::default().t2.max(t1),
                t4: TimerConfig::default().t4.max(t1),
            },
        };
        let prompts = Arc::new(prompts);
        let reload_task = (config.prompts.reload_s > 0).then(|| {
            let every = std::time::Duration::from_secs(u64::from(config.prompts.reload_s));
            tokio::spawn(watch_prompts(prompts.clone(), every))
        });
        let mut core = SipCore::new(settings, dialplan, prompts, pool);
        core.set_menus(IvrMenus::new(&config.menus));
        core.set_rooms(&config.rooms);
        core.set_room_recordings_dir(config.storage.data_dir.join("conferences"));
        core.set_mailboxes(&config.mailboxes, &config.voicemail);
        let voicemail = Arc::new(Voicemail::new(
            messages.clone(),
            &config.mailboxes,
            &config.voicemail,
        ));
        let voicemail_metrics = voicemail.metrics();
        core.set_voicemail(voicemail);
        core.set_registrar(Registrar::new(
            &config.registrar,
            &config.users,
            std::time::Instant::now(),
        ));
        let sip_metrics = core.metrics();
        let registrar_metrics = core.registrar().metrics();
        let media_metrics = core.media().metrics().clone();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let sip = SipDriver::start(
            core,
            SipListeners { udp, tcp, tls },
            tls_client,
            events_rx,
            shutdown_rx.clone(),
            config.sip.max_message_bytes,
        )
        .map_err(|source| ServerError::Bind {
            what: "SIP",
            addr: config.sip.udp_listen,
            source,
        })?;
        let state = ApiState {
            sip: sip.clone(),
            sip_metrics,
            media_metrics,
            registrar_metrics,
            ports: ports.clone(),
            voicemail: Some(MailboxApi::new(
                messages,
                config.mailboxes.iter().map(|m| m.number.clone()),
                mailbox_change_notifier(&sip),
            )),
            voicemail_metrics,
        };
        let mut http_shutdown = shutdown_rx;
        let http_task = tokio::spawn(async move {
            let serve = axum::serve(http, api::router(state)).with_graceful_shutdown(async move {
                let _ = http_shutdown.changed().await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        tracing::info!(
            sip_udp = %sip.udp_addr,
            sip_tcp = %sip.tcp_addr,
            sip_tls = ?sip.tls_addr,
            http = %http_addr,
            "mediaplane started"
        );
        Ok(Server {
            shutdown,
            sip,
            http_addr,
            ports,
            http_task,
            reload_task,
        })
    }

    pub fn sip_udp_addr(&self) -> SocketAddr {
        self.sip.udp_addr
    }

    pub fn sip_tcp_addr(&self) -> SocketAddr {
        self.sip.tcp_addr
    }

    /// The SIP TLS listener's address, when `sip.tls_listen` is set.
    pub fn sip_tls_addr(&self) -> Option<SocketAddr> {
        self.sip.tls_addr
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn ports(&self) -> &Arc<PortAllocator> {
        &self.ports
    }

    /// Stops the SIP and HTTP tasks; the media workers stop with the core.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = &self.reload_task {
            task.abort();
        }
        let _ = self.http_task.await;
    }
}

/// What the API calls after changing a mailbox: the core re-counts it and
/// tells its message-waiting subscribers.
fn mailbox_change_notifier(sip: &SipHandle) -> crate::api::OnMailboxChange {
    let queries = sip.queries.clone();
    Arc::new(move |mailbox| {
        if let Err(e) = queries.try_send(CoreQuery::MailboxChanged { mailbox }) {
            tracing::warn!(error = %e, "message-waiting update not queued");
        }
    })
}

/// Makes whole any recording a crash cut off (a `.wav.part` under the data
/// folder), before calls can add new ones: a message is never lost.
fn recover_recordings(data_dir: &std::path::Path) {
    if !data_dir.exists() {
        return;
    }
    match crate::store::recover_partial_recordings(data_dir) {
        Ok(paths) => {
            for path in paths {
                tracing::info!(path = %path.display(), "recording cut off by a restart recovered");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot recover partial recordings"),
    }
}

/// Makes the mailbox folders consistent after a crash (runs after
/// [`recover_recordings`], which gives cut-off audio its final name).
fn recover_messages(store: &dyn MessageStore) {
    let report = store.recover();
    for path in &report.completed {
        tracing::info!(path = %path.display(), "voicemail message recovered");
    }
    for path in &report.removed {
        tracing::info!(path = %path.display(), "voicemail deposit without audio removed");
    }
    for problem in &report.problems {
        tracing::warn!(%problem, "voicemail file left in place");
    }
}

/// Our certificate and key, when `sip.tls_certificate` is set: the TLS
/// listener's, and our client certificate towards TLS targets.
fn tls_identity(sip: &crate::config::SipConfig) -> Result<Option<TlsIdentity>, ServerError> {
    match (&sip.tls_certificate, &sip.tls_private_key) {
        (Some(cert), Some(key)) => Ok(Some(TlsIdentity::load(cert, key)?)),
        _ => Ok(None),
    }
}

/// The connector of outgoing TLS connections, when CA certificates to
/// verify servers with are configured.
fn tls_client(
    sip: &crate::config::SipConfig,
    identity: Option<&TlsIdentity>,
) -> Result<Option<tokio_rustls::TlsConnector>, ServerError> {
    let Some(path) = &sip.tls_trusted_certificates else {
        tracing::info!("no sip.tls_trusted_certificates: TLS route targets cannot be reached");
        return Ok(None);
    };
    let trusted = TrustedCertificates::load(path)?;
    tracing::debug!(path = %path.display(), anchors = trusted.len(), "TLS trust anchors loaded");
    Ok(Some(trusted.connector(identity)?))
}

/// The TLS listener with its acceptor, when `sip.tls_listen` is set
/// (validation made sure the certificate and key are then given).
async fn bind_tls(
    sip: &crate::config::SipConfig,
    identity: Option<&TlsIdentity>,
) -> Result<Option<(TcpListener, tokio_rustls::TlsAcceptor)>, ServerError> {
    let (Some(addr), Some(identity)) = (sip.tls_listen, identity) else {
        return Ok(None);
    };
    let acceptor = identity.acceptor()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind {
            what: "SIP TLS",
            addr,
            source,
        })?;
    Ok(Some((listener, acceptor)))
}

async fn bind_udp(addr: SocketAddr) -> Result<UdpSocket, ServerError> {
    UdpSocket::bind(addr)
        .await
        .map_err(|source| ServerError::Bind {
            what: "SIP UDP",
            addr,
            source,
        })
}

/// Rescans the prompt folder every `every` (a listing and a stat per file,
/// off the async threads), so that changed prompts take effect without a
/// restart.
async fn watch_prompts(prompts: Arc<PromptCatalogue>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let catalogue = prompts.clone();
        match tokio::task::spawn_blocking(move || catalogue.reload_if_changed()).await {
            Ok(Ok(summary)) if !summary.is_unchanged() => tracing::info!(
                added = summary.added.len(),
                replaced = summary.replaced.len(),
                removed = summary.removed.len(),
                skipped = summary.problems,
                "prompts reloaded"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "prompt folder rescan failed"),
            Err(_) => return,
        }
    }
}
