//! The `Runtime` contract, checked on async-std.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use claude_kit_async_std::AsyncStdRuntime;
use claude_kit_rt::Runtime;
use futures::channel::oneshot;
use futures::future::{Either, select};
use futures::{AsyncReadExt, AsyncWriteExt};

const FAR: Duration = Duration::from_secs(3600);

#[test]
fn name() {
    assert_eq!(AsyncStdRuntime::new().name(), "async-std");
}

#[test]
fn spawned_task_runs() {
    let rt = AsyncStdRuntime::new();
    let (tx, rx) = oneshot::channel();
    rt.spawn(Box::pin(async move {
        tx.send(7u32).unwrap();
    }));
    assert_eq!(async_std::task::block_on(rx).unwrap(), 7);
}

#[test]
fn sleep_until_completes() {
    let rt = AsyncStdRuntime::new();
    async_std::task::block_on(async {
        rt.sleep_until(rt.now() + Duration::from_millis(5)).await;
        // A deadline in the past completes at once.
        rt.sleep_until(rt.now() - Duration::from_millis(5)).await;
    });
}

#[test]
fn reset_to_later_keeps_timer_pending() {
    let rt = AsyncStdRuntime::new();
    async_std::task::block_on(async {
        let now = rt.now();
        let mut long = rt.sleep_until(now + Duration::from_millis(1));
        long.as_mut().reset(now + FAR);
        assert!(futures::poll!(long.as_mut()).is_pending());
        let short = rt.sleep_until(now + Duration::from_millis(20));
        match select(long.as_mut(), short).await {
            Either::Right(((), _)) => {}
            Either::Left(_) => panic!("timer reset to the far future fired first"),
        }
        // Moved back to the past, it completes.
        long.as_mut().reset(Instant::now());
        long.as_mut().await;
        // A completed timer reset to a future deadline is pending again (a far one: a starved
        // thread cannot overrun it between the reset and the poll), then completes once the
        // deadline is moved near.
        long.as_mut().reset(Instant::now() + FAR);
        assert!(futures::poll!(long.as_mut()).is_pending());
        long.as_mut()
            .reset(Instant::now() + Duration::from_millis(5));
        long.as_mut().await;
    });
}

#[test]
fn connect_tcp_round_trip() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        socket.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping!");
        socket.write_all(b"pong").unwrap();
    });
    let rt = AsyncStdRuntime::new();
    async_std::task::block_on(async {
        let mut stream = rt
            .tcp()
            .unwrap()
            .connect_tcp("127.0.0.1", port)
            .await
            .unwrap();
        stream.write_all(b"ping!").await.unwrap();
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        stream.close().await.unwrap();
    });
    server.join().unwrap();
}

#[test]
fn connect_tcp_to_closed_port_fails() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let rt = AsyncStdRuntime::new();
    let err = match async_std::task::block_on(rt.tcp().unwrap().connect_tcp("127.0.0.1", port)) {
        Ok(_) => panic!("connected to a closed port"),
        Err(err) => err,
    };
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn connect_tcp_unresolvable_host_fails() {
    let rt = AsyncStdRuntime::new();
    assert!(
        async_std::task::block_on(
            rt.tcp()
                .unwrap()
                .connect_tcp("invalid host name with spaces", 80)
        )
        .is_err()
    );
}
