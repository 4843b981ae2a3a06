//! The voicemail routes of the admin API, against messages put in the store
//! folder before the server starts.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use mediaplane::config::MailboxConfig;
use mediaplane::store::{
    Folder, FsMessageStore, MessageMeta, MessageStore, NewMessage, WavRecorder,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::TestServer;

/// 2026-11-21T21:45:00Z.
const START: u64 = 1_795_297_500;

fn mailbox(number: &str) -> MailboxConfig {
    MailboxConfig {
        number: number.into(),
        pin: "1234".into(),
        owner: None,
        email: None,
        greeting: None,
        max_messages: 100,
        max_message_s: 180,
    }
}

/// A complete message of `ms` milliseconds from `caller`.
fn deposit(
    store: &FsMessageStore,
    mailbox: &str,
    caller: &str,
    start_s: u64,
    ms: u64,
) -> MessageMeta {
    let draft = store
        .begin(
            mailbox,
            NewMessage {
                caller: caller.into(),
                called: mailbox.into(),
                codec: "PCMA".into(),
                rate_hz: 8000,
                start: UNIX_EPOCH + Duration::from_secs(start_s),
            },
        )
        .unwrap();
    let mut recorder = WavRecorder::create(&draft.wav_path, 8000).unwrap();
    let samples: Vec<i16> = (0..ms * 8).map(|i| ((i * 37) % 2000) as i16).collect();
    recorder.write(&samples).unwrap();
    recorder.finish().unwrap();
    store.complete(&draft, ms).unwrap()
}

/// A server whose data folder is `data`, with mailbox 1000 configured.
async fn server(data: &Path) -> TestServer {
    let dir = data.to_path_buf();
    TestServer::start(move |c| {
        c.storage.data_dir = dir;
        c.mailboxes = vec![mailbox("1000")];
    })
    .await
}

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&self.body));
        })
    }
}

/// A request over a fresh connection, the body kept as bytes.
async fn request(server: &TestServer, method: &str, path: &str) -> Reply {
    let mut stream = TcpStream::connect(server.http_addr()).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        head,
        body: response[split + 4..].to_vec(),
    }
}

fn listed_ids(list: &Value) -> Vec<String> {
    list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn messages_are_listed_downloaded_and_deleted() {
    let data = tempfile::tempdir().unwrap();
    let store = FsMessageStore::new(data.path().join("voicemail"));
    let heard = deposit(&store, "1000", "sip:bob@example.com", START, 600);
    let fresh = deposit(&store, "1000", "sip:carol@example.com", START + 30, 400);
    store.mark_old("1000", &heard.id).unwrap();
    let server = server(data.path()).await;

    let list = request(&server, "GET", "/api/v1/mailboxes/1000/messages").await;
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(list["mailbox"], "1000");
    assert_eq!(
        (list["new"].as_u64(), list["old"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(listed_ids(&list), vec![fresh.id.clone(), heard.id.clone()]);
    let first = &list["messages"][0];
    assert_eq!(first["folder"], "inbox");
    assert_eq!(first["caller"], "sip:carol@example.com");
    assert_eq!(first["start"], "2026-11-21T21:45:30Z");
    assert_eq!(first["duration_ms"], 400);
    assert_eq!(first["codec"], "PCMA");
    assert_eq!(first["complete"], true);
    assert_eq!(list["messages"][1]["folder"], "old");
    assert_eq!(list["skipped"], serde_json::json!([]));

    for meta in [&fresh, &heard] {
        let path = format!("/api/v1/mailboxes/1000/messages/{}", meta.id);
        let audio = request(&server, "GET", &path).await;
        assert_eq!(audio.status, 200);
        assert!(
            audio
                .head
                .to_ascii_lowercase()
                .contains("content-type: audio/wav"),
            "{}",
            audio.head
        );
        let on_disk = store.audio_path("1000", &meta.id).unwrap();
        assert_eq!(audio.body, std::fs::read(on_disk).unwrap());
    }

    let path = format!("/api/v1/mailboxes/1000/messages/{}", heard.id);
    let old_wav: PathBuf = store.audio_path("1000", &heard.id).unwrap();
    assert_eq!(request(&server, "DELETE", &path).await.status, 204);
    assert!(!old_wav.exists());
    assert!(store.list("1000", Folder::Old).unwrap().messages.is_empty());
    let list = request(&server, "GET", "/api/v1/mailboxes/1000/messages")
        .await
        .json();
    assert_eq!(listed_ids(&list), vec![fresh.id.clone()]);
    assert_eq!(list["old"], 0);

    let gone = request(&server, "DELETE", &path).await;
    assert_eq!(gone.status, 404);
    assert!(gone.json()["error"].is_string());
    assert_eq!(request(&server, "GET", &path).await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn corrupt_metadata_is_reported_while_the_rest_is_listed() {
    let data = tempfile::tempdir().unwrap();
    let store = FsMessageStore::new(data.path().join("voicemail"));
    let good = deposit(&store, "1000", "sip:bob@example.com", START, 300);
    let broken = deposit(&store, "1000", "sip:eve@example.com", START + 5, 300);
    let broken_json = data
        .path()
        .join(format!("voicemail/1000/INBOX/{}.json", broken.id));
    std::fs::write(&broken_json, b"{\"caller\": ").unwrap();
    let server = server(data.path()).await;

    let list = request(&server, "GET", "/api/v1/mailboxes/1000/messages").await;
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(listed_ids(&list), vec![good.id.clone()]);
    assert_eq!(list["new"], 1);
    let skipped = list["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["path"], broken_json.to_str().unwrap());
    assert!(skipped[0]["reason"].as_str().unwrap().contains("metadata"));
    // Start-up recovery left the file for the operator to look at.
    assert!(broken_json.exists());

    let path = format!("/api/v1/mailboxes/1000/messages/{}", broken.id);
    assert_eq!(request(&server, "GET", &path).await.status, 500);
    assert_eq!(request(&server, "DELETE", &path).await.status, 204);
    assert!(!broken_json.exists());
    server.stop().await;
}

#[tokio::test]
async fn unsafe_names_and_unknown_mailboxes_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let store = FsMessageStore::new(data.path().join("voicemail"));
    let kept = deposit(&store, "1000", "sip:bob@example.com", START, 300);
    // Files of a mailbox that is not configured are not served.
    let stray = deposit(&store, "9999", "sip:bob@example.com", START, 300);
    let server = server(data.path()).await;

    for (method, path) in [
        ("GET", "/api/v1/mailboxes/../messages".to_string()),
        ("GET", "/api/v1/mailboxes/%2e%2e/messages".to_string()),
        (
            "GET",
            "/api/v1/mailboxes/%2e%2e%2f9999/messages".to_string(),
        ),
        ("GET", "/api/v1/mailboxes/1000/messages/..".to_string()),
        (
            "GET",
            "/api/v1/mailboxes/1000/messages/%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_string(),
        ),
        (
            "GET",
            format!("/api/v1/mailboxes/1000/messages/{}.wav", kept.id),
        ),
        ("GET", "/api/v1/mailboxes/1000/messages/%ff".to_string()),
        (
            "DELETE",
            format!("/api/v1/mailboxes/%2e%2e%2f1000/messages/{}", kept.id),
        ),
        (
            "DELETE",
            format!(
                "/api/v1/mailboxes/1000/messages/..%2f..%2f9999%2fINBOX%2f{}",
                stray.id
            ),
        ),
    ] {
        let reply = request(&server, method, &path).await;
        assert_eq!(reply.status, 400, "{method} {path}");
        let error = reply.json()["error"].as_str().unwrap().to_string();
        assert!(!error.is_empty(), "{method} {path}");
    }

    let unknown = request(&server, "GET", "/api/v1/mailboxes/9999/messages").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.json()["error"].as_str().unwrap().contains("9999"));
    let path = format!("/api/v1/mailboxes/9999/messages/{}", stray.id);
    assert_eq!(request(&server, "GET", &path).await.status, 404);
    assert_eq!(request(&server, "DELETE", &path).await.status, 404);
    let missing = request(
        &server,
        "GET",
        "/api/v1/mailboxes/1000/messages/20200101-000000-0001",
    )
    .await;
    assert_eq!(missing.status, 404);

    assert!(store.find("9999", &stray.id).is_ok());
    assert!(store.find("1000", &kept.id).is_ok());
    server.stop().await;
}

#[tokio::test]
async fn a_delete_through_the_api_updates_message_waiting_subscribers() {
    use common::subscriber::{body, status, Phone, Subscribe};
    let data = tempfile::tempdir().unwrap();
    let server = server(data.path()).await;
    // Left while the server runs, but not through it: a subscription
    // still starts from what is stored.
    let store = FsMessageStore::new(data.path().join("voicemail"));
    let meta = deposit(&store, "1000", "sip:bob@example.com", START, 600);
    let phone = Phone::new(&server).await;
    phone
        .send(&Subscribe::new("1000", "api-mwi").render(&phone))
        .await;
    assert_eq!(status(&phone.response("SUBSCRIBE").await), 200);
    let first = phone.notify().await;
    assert!(body(&first).contains("Voice-Message: 1/0"), "{first}");

    let path = format!("/api/v1/mailboxes/1000/messages/{}", meta.id);
    assert_eq!(request(&server, "DELETE", &path).await.status, 204);
    let after = phone.notify().await;
    assert!(body(&after).contains("Messages-Waiting: no"), "{after}");
    assert!(body(&after).contains("Voice-Message: 0/0"), "{after}");
    server.stop().await;
}
