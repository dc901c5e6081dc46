//! The typed request surface on the wire, on every runtime: content blocks (images,
//! documents, search results), cache breakpoints and server tools reach the server as the
//! API documents them; a structured output is parsed into a Rust type, and a reply that
//! does not match is a typed error that says why.

use claude_kit::types::{
    CacheControl, CacheTtl, ContentBlock, DocumentBlock, ImageBlock, SearchResultBlock, Tool,
    WebSearchTool,
};
use claude_kit::{Error, MessageRequest, StopReason};
use claude_kit_mock::Reply;
use common::{Rt, on_all_runtimes};
use serde_json::json;

use crate::common;

async fn typed_blocks_reach_the_server_as_documented(rt: Rt) {
    let server = common::mock();
    let client = common::client(&server, &rt);
    let request = MessageRequest::new("claude-test", 256)
        .tool(Tool::new(
            "lookup",
            "Looks up a term",
            json!({"type": "object"}),
        ))
        .tool(WebSearchTool::new().max_uses(2))
        .system("You are a careful reader.")
        .user(vec![
            ImageBlock::base64("image/png", "iVBORw0KGgo=").into(),
            DocumentBlock::pdf_url("https://example.com/report.pdf")
                .title("Report")
                .citations()
                .into(),
            SearchResultBlock::new("kb://1", "Policy", ["Refunds take 5 days."]).into(),
            ContentBlock::text("Summarise."),
        ])
        .cache_tools(CacheControl::ephemeral().ttl(CacheTtl::OneHour))
        .cache_system(CacheControl::ephemeral())
        .cache_last_message(CacheControl::ephemeral());
    let reply = client.messages().create(request).await.expect("create");
    assert!(!reply.text().is_empty());

    let sent = server.requests()[0].json().unwrap();
    assert_eq!(
        sent["tools"],
        json!([
            {"name": "lookup", "description": "Looks up a term", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 2,
             "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        ])
    );
    assert_eq!(
        sent["system"],
        json!([{"type": "text", "text": "You are a careful reader.", "cache_control": {"type": "ephemeral"}}])
    );
    let content = &sent["messages"][0]["content"];
    assert_eq!(
        content[0],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}})
    );
    assert_eq!(
        content[1],
        json!({"type": "document", "source": {"type": "url", "url": "https://example.com/report.pdf"},
               "title": "Report", "citations": {"enabled": true}})
    );
    assert_eq!(content[2]["type"], "search_result");
    assert_eq!(
        content[3],
        json!({"type": "text", "text": "Summarise.", "cache_control": {"type": "ephemeral"}})
    );
}

#[derive(serde::Deserialize, Debug, PartialEq)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
struct Answer {
    answer: i64,
    unit: Option<String>,
}

async fn structured_output_is_parsed_or_a_typed_error(rt: Rt) {
    let server = common::mock();
    let client = common::client(&server, &rt);
    let request = MessageRequest::new("claude-test", 256).user("2 + 2?");
    #[cfg(feature = "schemars")]
    let request = request.output_schema::<Answer>();
    #[cfg(not(feature = "schemars"))]
    let request = request.json_schema_output(json!({"type": "object"}));

    server.enqueue(Reply::text(r#"{"answer": 4, "unit": null}"#));
    let reply = client.messages().create(request.clone()).await.unwrap();
    assert_eq!(
        reply.parse::<Answer>().unwrap(),
        Answer {
            answer: 4,
            unit: None
        }
    );
    let sent = server.requests()[0].json().unwrap();
    assert_eq!(sent["output_format"]["type"], "json_schema");
    #[cfg(feature = "schemars")]
    {
        let schema = &sent["output_format"]["schema"];
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["answer"]));
    }

    // The model's JSON has the wrong shape: the error names the field, the stream too.
    server.enqueue(Reply::text(r#"{"answer": "four"}"#));
    let stream = client.messages().stream(request.clone()).await.unwrap();
    let reply = stream.final_message().await.unwrap();
    let error = reply.parse::<Answer>().unwrap_err();
    assert!(matches!(error, Error::Output { .. }), "{error:?}");
    assert!(error.to_string().contains("expected i64"), "{error}");

    // Not JSON at all.
    server.enqueue(Reply::text("Four."));
    let reply = client.messages().create(request).await.unwrap();
    let error = reply.parse::<Answer>().unwrap_err();
    assert!(error.to_string().contains("not JSON"), "{error}");
    assert!(matches!(
        error,
        Error::Output {
            stop_reason: Some(StopReason::EndTurn),
            ..
        }
    ));
}

on_all_runtimes!(
    typed_blocks_reach_the_server_as_documented,
    structured_output_is_parsed_or_a_typed_error,
);
