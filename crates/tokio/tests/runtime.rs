//! The `Runtime` contract, checked on tokio: inside the runtime, and from threads that are not
//! tokio's (polled by `futures::executor::block_on` while the runtime runs elsewhere).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use claude_kit_rt::Runtime;
use claude_kit_tokio::TokioRuntime;
use futures::channel::oneshot;
use futures::future::{Either, select};
use futures::{AsyncReadExt, AsyncWriteExt};

const FAR: Duration = Duration::from_secs(3600);

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A current-thread runtime driven by a background thread until the returned sender is
/// dropped.
fn current_thread_in_background() -> (
    TokioRuntime,
    oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = TokioRuntime::from_handle(tokio_rt.handle().clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let _ = tokio_rt.block_on(stopped);
    });
    (runtime, stop, thread)
}

async fn check_spawn(rt: &dyn Runtime) {
    let (tx, rx) = oneshot::channel();
    rt.spawn(Box::pin(async move {
        tx.send(7u32).unwrap();
    }));
    assert_eq!(rx.await.unwrap(), 7);
}

async fn check_sleep(rt: &dyn Runtime) {
    rt.sleep_until(rt.now() + Duration::from_millis(5)).await;
    // A deadline in the past completes at once.
    rt.sleep_until(rt.now() - Duration::from_millis(5)).await;
}

async fn check_reset(rt: &dyn Runtime) {
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
}

async fn check_connect(rt: &dyn Runtime) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        socket.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping!");
        socket.write_all(b"pong").unwrap();
    });
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
    server.join().unwrap();
}

async fn check_connect_refused(rt: &dyn Runtime) {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = match rt.tcp().unwrap().connect_tcp("127.0.0.1", port).await {
        Ok(_) => panic!("connected to a closed port"),
        Err(err) => err,
    };
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn name_and_current() {
    assert!(TokioRuntime::try_current().is_none());
    let tokio_rt = multi_thread();
    let runtime = TokioRuntime::from(tokio_rt.handle().clone());
    assert_eq!(runtime.name(), "tokio");
    tokio_rt.block_on(async {
        assert!(TokioRuntime::try_current().is_some());
        assert_eq!(TokioRuntime::current().name(), "tokio");
    });
}

#[test]
#[should_panic]
fn current_panics_outside_tokio() {
    let _ = TokioRuntime::current();
}

#[test]
fn contract_inside_tokio() {
    let tokio_rt = multi_thread();
    tokio_rt.block_on(async {
        let rt = TokioRuntime::current();
        check_spawn(&rt).await;
        check_sleep(&rt).await;
        check_reset(&rt).await;
        check_connect(&rt).await;
        check_connect_refused(&rt).await;
    });
}

#[test]
fn contract_from_non_tokio_thread_multi_thread() {
    let tokio_rt = multi_thread();
    let rt = TokioRuntime::from_handle(tokio_rt.handle().clone());
    std::thread::spawn(move || {
        assert!(TokioRuntime::try_current().is_none());
        futures::executor::block_on(async {
            check_spawn(&rt).await;
            check_sleep(&rt).await;
            check_reset(&rt).await;
            check_connect(&rt).await;
            check_connect_refused(&rt).await;
        });
    })
    .join()
    .unwrap();
}

#[test]
fn contract_from_non_tokio_thread_current_thread() {
    let (rt, stop, driver) = current_thread_in_background();
    futures::executor::block_on(async {
        check_spawn(&rt).await;
        check_sleep(&rt).await;
        check_reset(&rt).await;
        check_connect(&rt).await;
        check_connect_refused(&rt).await;
    });
    drop(stop);
    driver.join().unwrap();
}

#[test]
fn dropping_connect_future_is_fine() {
    let tokio_rt = multi_thread();
    let rt = TokioRuntime::from_handle(tokio_rt.handle().clone());
    // Never polled, and polled once then dropped: neither panics nor leaks a task that panics.
    drop(rt.tcp().unwrap().connect_tcp("127.0.0.1", 9));
    let mut connect = rt.tcp().unwrap().connect_tcp("127.0.0.1", 9);
    let _ = futures::executor::block_on(async { futures::poll!(connect.as_mut()) });
    drop(connect);
}
