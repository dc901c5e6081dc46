//! Test support: a minimal `Runtime` over async-io (one thread per spawned task), a tiny
//! hand-written HTTP/1.1 server on 127.0.0.1 (plain or TLS) and a generated test CA.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use async_net::{TcpListener, TcpStream};
use claude_kit_rt::{AsyncIo, BoxFuture, Runtime, Sleep, TcpConnect};
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A runtime for tests: async-io timers and sockets, a std thread per spawned task.
#[derive(Debug)]
pub struct TestRuntime;

struct TestSleep(async_io::Timer);

impl Future for TestSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl Sleep for TestSleep {
    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.get_mut().0.set_at(deadline);
    }
}

impl Runtime for TestRuntime {
    fn name(&self) -> &'static str {
        "test"
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        std::thread::spawn(move || async_io::block_on(task));
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(TestSleep(async_io::Timer::at(deadline)))
    }

    fn tcp(&self) -> Option<&dyn TcpConnect> {
        Some(self)
    }
}

impl TcpConnect for TestRuntime {
    fn connect_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, std::io::Result<Box<dyn AsyncIo>>> {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as Box<dyn AsyncIo>)
        })
    }
}

pub fn runtime() -> Arc<dyn Runtime> {
    Arc::new(TestRuntime)
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request line and headers, verbatim.
    pub head: String,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn path(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }
}

/// What the server answers.
pub enum Reply {
    /// 200 with this body and a Content-Length.
    Text(String),
    /// 200 with `n` bytes of body.
    Big(usize),
    /// 200 with `Connection: close`, then closes.
    TextThenClose(&'static str),
    /// Declares Content-Length `declared`, sends `sent`, closes.
    Truncated { declared: usize, sent: &'static str },
    /// A chunked body whose terminating chunk never comes: the connection closes first.
    ChunkedTruncated,
    /// 204, no body.
    NoContent,
    /// Never answers (the connection stays open until the client closes it).
    Hang,
}

pub type Handler = fn(&Seen) -> Reply;

pub struct Server {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    /// Every request head the server has read, in order.
    pub requests: async_channel::Receiver<Seen>,
}

impl Server {
    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn url(&self, scheme: &str, host: &str, path: &str) -> String {
        format!("{scheme}://{host}:{}{path}", self.addr.port())
    }
}

/// Serves plain HTTP/1.1 on 127.0.0.1.
pub fn serve(handler: Handler) -> Server {
    serve_with(handler, None)
}

/// Serves HTTP/1.1 over TLS on 127.0.0.1 with `config`.
pub fn serve_tls(handler: Handler, config: Arc<rustls::ServerConfig>) -> Server {
    serve_with(handler, Some(futures_rustls::TlsAcceptor::from(config)))
}

fn serve_with(handler: Handler, tls: Option<futures_rustls::TlsAcceptor>) -> Server {
    let listener = async_io::block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = async_channel::unbounded();
    let counter = accepted.clone();
    std::thread::spawn(move || {
        async_io::block_on(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let tx = tx.clone();
                let tls = tls.clone();
                std::thread::spawn(move || {
                    async_io::block_on(async move {
                        match tls {
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    connection(stream, handler, tx).await;
                                }
                            }
                            None => connection(stream, handler, tx).await,
                        }
                    });
                });
            }
        });
    });
    Server {
        addr,
        accepted,
        requests: rx,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    handler: Handler,
    seen: async_channel::Sender<Seen>,
) {
    let mut buf = Vec::new();
    let mut scratch = [0u8; 8192];
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&scratch[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let length = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, value)| value.trim().parse::<usize>().unwrap());
        while buf.len() < head_end + length {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&scratch[..n]),
            }
        }
        let request = Seen {
            head,
            body: buf[head_end..head_end + length].to_vec(),
        };
        buf.drain(..head_end + length);
        let reply = handler(&request);
        let _ = seen.send(request).await;
        let result: io::Result<bool> = async {
            match reply {
                Reply::Text(body) => {
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: text/plain\r\n\r\n{body}",
                        body.len()
                    );
                    stream.write_all(response.as_bytes()).await?;
                    Ok(true)
                }
                Reply::Big(n) => {
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n");
                    stream.write_all(head.as_bytes()).await?;
                    stream.write_all(&vec![b'x'; n]).await?;
                    Ok(true)
                }
                Reply::TextThenClose(body) => {
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    stream.write_all(response.as_bytes()).await?;
                    Ok(false)
                }
                Reply::Truncated { declared, sent } => {
                    let response =
                        format!("HTTP/1.1 200 OK\r\ncontent-length: {declared}\r\n\r\n{sent}");
                    stream.write_all(response.as_bytes()).await?;
                    Ok(false)
                }
                Reply::ChunkedTruncated => {
                    stream
                        .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
                        .await?;
                    Ok(false)
                }
                Reply::NoContent => {
                    stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await?;
                    Ok(true)
                }
                Reply::Hang => {
                    // Wait for the client to go away.
                    while stream.read(&mut scratch).await.is_ok_and(|n| n > 0) {}
                    Ok(false)
                }
            }
        }
        .await;
        let _ = stream.flush().await;
        if !matches!(result, Ok(true)) {
            let _ = stream.close().await;
            return;
        }
    }
}

/// A generated CA and a server configuration whose leaf ("localhost", 127.0.0.1) it signed.
pub struct TestPki {
    pub ca_der: Vec<u8>,
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

pub fn pki() -> TestPki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "claude-kit-hyper test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf_cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    TestPki {
        ca_der: ca_cert.der().to_vec(),
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(server_config),
    }
}

/// What the test proxy does with a `CONNECT`.
#[derive(Debug, Clone, Copy)]
pub enum ProxyMode {
    /// Dials the target (loopback only) and copies bytes both ways.
    Forward,
    /// Answers with this status and closes.
    Refuse(u16),
    /// Never answers (until the client goes away).
    Stall,
}

/// A tiny HTTP proxy on 127.0.0.1: `CONNECT` tunnels and absolute-form forwarding.
pub struct Proxy {
    pub addr: SocketAddr,
    connects: Arc<AtomicUsize>,
    forwards: Arc<AtomicUsize>,
    /// Every request head the proxy read (`CONNECT` or absolute-form), in order.
    pub heads: async_channel::Receiver<String>,
}

impl Proxy {
    /// `CONNECT` requests received (refused ones included).
    pub fn connects(&self) -> usize {
        self.connects.load(Ordering::SeqCst)
    }

    /// Absolute-form requests forwarded (one per client connection: the rest of a
    /// connection is piped).
    pub fn forwards(&self) -> usize {
        self.forwards.load(Ordering::SeqCst)
    }

    /// `http://{userinfo}127.0.0.1:port`.
    pub fn url(&self, userinfo: &str) -> String {
        format!("http://{userinfo}127.0.0.1:{}", self.addr.port())
    }
}

/// Starts a proxy. With `expected_auth`, a request whose `Proxy-Authorization` differs is
/// answered 407.
pub fn proxy(mode: ProxyMode, expected_auth: Option<&'static str>) -> Proxy {
    let listener = async_io::block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let connects = Arc::new(AtomicUsize::new(0));
    let forwards = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = async_channel::unbounded();
    let (c, f) = (connects.clone(), forwards.clone());
    std::thread::spawn(move || {
        async_io::block_on(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (tx, c, f) = (tx.clone(), c.clone(), f.clone());
                std::thread::spawn(move || {
                    async_io::block_on(proxy_connection(stream, mode, expected_auth, c, f, tx))
                });
            }
        });
    });
    Proxy {
        addr,
        connects,
        forwards,
        heads: rx,
    }
}

async fn proxy_connection(
    mut client: TcpStream,
    mode: ProxyMode,
    expected_auth: Option<&'static str>,
    connects: Arc<AtomicUsize>,
    forwards: Arc<AtomicUsize>,
    heads: async_channel::Sender<String>,
) {
    let mut buf = Vec::new();
    let mut scratch = [0u8; 4096];
    let end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        match client.read(&mut scratch).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&scratch[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let rest = buf[end..].to_vec();
    let mut words = head.split(' ');
    let (method, uri) = (
        words.next().unwrap_or("").to_owned(),
        words.next().unwrap_or("").to_owned(),
    );
    let auth = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_owned());
    let is_connect = method == "CONNECT";
    if is_connect {
        connects.fetch_add(1, Ordering::SeqCst);
    }
    let _ = heads.send(head.clone()).await;
    if expected_auth.is_some() && auth.as_deref() != expected_auth {
        let _ = client
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    }
    let authority = if is_connect {
        match mode {
            ProxyMode::Refuse(code) => {
                let answer = format!("HTTP/1.1 {code} Refused\r\ncontent-length: 0\r\n\r\n");
                let _ = client.write_all(answer.as_bytes()).await;
                return;
            }
            ProxyMode::Stall => {
                while client.read(&mut scratch).await.is_ok_and(|n| n > 0) {}
                return;
            }
            ProxyMode::Forward => uri,
        }
    } else {
        forwards.fetch_add(1, Ordering::SeqCst);
        let Some(rest) = uri.strip_prefix("http://") else {
            let _ = client
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
            return;
        };
        rest.split('/').next().unwrap_or("").to_owned()
    };
    let (host, port) = authority.rsplit_once(':').unwrap();
    assert!(
        host == "127.0.0.1" || host == "localhost",
        "the test proxy only dials loopback, not {host}"
    );
    let Ok(mut upstream) = TcpStream::connect((host, port.parse::<u16>().unwrap())).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    if is_connect {
        if client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
    } else if upstream.write_all(&buf[..end]).await.is_err() {
        return;
    }
    if upstream.write_all(&rest).await.is_err() {
        return;
    }
    let (client2, upstream2) = (client.clone(), upstream.clone());
    futures_lite::future::or(
        async {
            let _ = futures_lite::io::copy(client, upstream2).await;
        },
        async {
            let _ = futures_lite::io::copy(upstream, client2).await;
        },
    )
    .await;
}
