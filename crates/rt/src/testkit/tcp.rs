//! The TCP checks: loopback only.

use std::io::{Read, Write};
use std::net::TcpListener;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use super::poll_once;
use crate::context::SharedRuntime;
use crate::{Runtime, TcpConnect};

fn tcp(rt: &dyn Runtime) -> &dyn TcpConnect {
    rt.tcp()
        .unwrap_or_else(|| panic!("the {} runtime has no TCP capability", rt.name()))
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
pub(super) fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback listener");
    listener.local_addr().expect("its address").port()
}

/// Two round trips to a loopback listener, by address and by the name `localhost`.
pub async fn tcp_round_trip(rt: SharedRuntime) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback listener");
    let port = listener.local_addr().expect("its address").port();
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        for _ in 0..2 {
            let (mut socket, _) = listener.accept()?;
            let mut buf = [0u8; 5];
            socket.read_exact(&mut buf)?;
            assert_eq!(&buf, b"ping!");
            socket.write_all(b"pong")?;
        }
        Ok(())
    });
    for host in ["127.0.0.1", "localhost"] {
        let mut stream = tcp(&*rt)
            .connect_tcp(host, port)
            .await
            .unwrap_or_else(|e| panic!("connecting to {host}:{port}: {e}"));
        stream.write_all(b"ping!").await.expect("writing");
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await.expect("reading");
        assert_eq!(&buf, b"pong");
        stream.close().await.expect("closing");
    }
    server.join().expect("the server thread").expect("serving");
}

/// A connection to a closed port fails with `ConnectionRefused`, not a hang.
pub async fn tcp_closed_port_fails(rt: SharedRuntime) {
    let port = closed_port();
    match tcp(&*rt).connect_tcp("127.0.0.1", port).await {
        Ok(_) => panic!("connected to a closed port"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}"),
    }
}

/// A host name that cannot resolve is an error, not a hang.
pub async fn tcp_unresolvable_host_fails(rt: SharedRuntime) {
    let result = tcp(&*rt)
        .connect_tcp("invalid host name with spaces", 80)
        .await;
    assert!(result.is_err(), "resolved a host name with spaces");
}

/// Dropping a connect future, unpolled or mid-way, neither panics nor disturbs the runtime.
pub async fn tcp_connect_dropped(rt: SharedRuntime) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback listener");
    let port = listener.local_addr().expect("its address").port();
    drop(tcp(&*rt).connect_tcp("127.0.0.1", port));
    let mut connect = tcp(&*rt).connect_tcp("127.0.0.1", port);
    let _ = poll_once(&mut connect).await;
    drop(connect);
    assert_eq!(crate::spawn(&*rt, async { 1 }).await, 1);
}
