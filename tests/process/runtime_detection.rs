//! `current_runtime` picks the runtime the caller is on.

use claude_kit::rt::current_runtime;

#[test]
fn inside_tokio_it_is_tokio() {
    let _process = crate::exclusive();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = runtime.block_on(async { current_runtime().unwrap().name() });
    assert_eq!(name, "tokio");
}

#[test]
fn inside_async_std_it_is_async_std() {
    let _process = crate::exclusive();
    let name = async_std::task::block_on(async { current_runtime().unwrap().name() });
    assert_eq!(name, "async-std");
}

#[test]
fn elsewhere_it_is_smol() {
    let _process = crate::exclusive();
    assert_eq!(current_runtime().unwrap().name(), "smol");
    let name = smol::block_on(async { current_runtime().unwrap().name() });
    assert_eq!(name, "smol");
}

#[test]
fn block_on_runs_a_client_call() {
    let _process = crate::exclusive();
    // `rt::block_on` is what examples use: no runtime named anywhere.
    let server = claude_kit_mock::MockServer::start();
    let text = claude_kit::rt::block_on(async {
        let client = claude_kit::Client::builder()
            .api_key("k")
            .base_url(server.url())
            .build()
            .unwrap();
        client.query("ping").await.unwrap().text()
    });
    assert!(text.ends_with("You said: ping"));
}
