//! `CLAUDE_KIT_RUNTIME` picks the runtime of `rt::block_on`, of `blocking::Client` and of
//! `rt::current_runtime()` outside any runtime.

use claude_kit::rt::{self, RUNTIME_ENV, RuntimeKind};
use claude_kit::{ClientBuilder, Error, blocking};

fn set(value: &str) {
    // SAFETY: the test holds `crate::exclusive()`: no other test runs, and the only other
    // threads are the mock server's and the runtimes' workers, which never read the environment.
    unsafe { std::env::set_var(RUNTIME_ENV, value) };
}

#[test]
fn the_environment_variable_picks_the_runtime() {
    let _process = crate::exclusive();
    let _env = crate::EnvGuard(&[RUNTIME_ENV]);
    let server = claude_kit_mock::MockServer::start();
    for kind in RuntimeKind::ALL {
        set(kind.name());
        assert_eq!(RuntimeKind::from_env().unwrap(), Some(kind));
        assert_eq!(RuntimeKind::preferred().unwrap(), kind);

        // Outside any runtime: the one named (for tokio, a process-wide runtime).
        assert_eq!(rt::current_runtime().unwrap().name(), kind.name());
        assert_eq!(rt::runtime_name(), None);

        // `block_on` runs on it, and a client built inside uses it.
        let (name, text) = rt::block_on(async {
            let client = claude_kit::Client::builder()
                .api_key("k")
                .base_url(server.url())
                .build()
                .unwrap();
            let reply = client.query(kind.name()).await.unwrap();
            (client.runtime().name(), reply.text())
        });
        assert_eq!(name, kind.name());
        assert!(text.ends_with(kind.name()));

        // So does a blocking client.
        let client =
            blocking::Client::new(ClientBuilder::default().api_key("k").base_url(server.url()))
                .unwrap();
        assert_eq!(client.runtime_kind(), kind);
        assert!(client.query("sync").unwrap().text().ends_with("sync"));
    }

    // Outside a runtime, the implicit helpers work on the named one too.
    set("tokio");
    let handle = rt::spawn(async { rt::runtime_name() });
    assert_eq!(futures::executor::block_on(handle), Some("tokio"));

    // Case and spelling variants.
    set(" Async_Std ");
    assert_eq!(RuntimeKind::preferred().unwrap(), RuntimeKind::AsyncStd);

    // An unknown name is a clear error, and a clear panic for the panicking helpers.
    set("tokyo");
    match rt::current_runtime() {
        Err(Error::Config { message }) => {
            assert!(
                message.contains(RUNTIME_ENV) && message.contains("tokyo"),
                "{message}"
            )
        }
        other => panic!("expected Error::Config, got {other:?}"),
    }
    assert!(blocking::Client::new(ClientBuilder::default().api_key("k")).is_err());
    let panic = std::panic::catch_unwind(|| rt::block_on(async {})).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("tokyo"), "{message}");

    // Empty means unset.
    set("");
    assert_eq!(RuntimeKind::from_env().unwrap(), None);
    assert_eq!(RuntimeKind::preferred().unwrap(), RuntimeKind::Tokio);
}
