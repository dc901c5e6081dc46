"""Records what the official Python SDK makes of SSE transcripts, as conformance expectations.

For each NAME.sse given, serves it verbatim with the claude-kit-mock binary, streams it with
`anthropic` (AsyncAnthropic().messages.stream) and writes, beside the transcript:
  NAME.json        get_final_message(), dumped as JSON (nulls kept, as in tests/fixtures/sse)
  NAME.text.txt    everything text_stream yielded
  NAME.error.txt   instead of NAME.json when the SDK raised: the error class and, for API
                   errors, a `type: <error.type>` line

Run it with scripts/official_sdk_expectations.sh, which installs the SDK in its own venv.
"""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import anthropic


async def record(mock: Path, transcript: Path) -> None:
    server = subprocess.Popen(
        [str(mock), "--addr", "127.0.0.1:0", "--replay", str(transcript), "--chunking", "event"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()
        client = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0)
        stem = transcript.with_suffix("")
        text = ""
        try:
            async with client.messages.stream(
                model="claude-sonnet-4-5", max_tokens=1024, messages=[{"role": "user", "content": "Hello"}]
            ) as stream:
                async for piece in stream.text_stream:
                    text += piece
                message = await stream.get_final_message()
            stem.with_suffix(".json").write_text(json.dumps(message.model_dump(mode="json"), indent=2, sort_keys=True) + "\n")
            stem.with_suffix(".error.txt").unlink(missing_ok=True)
            outcome = "message"
        except Exception as error:  # noqa: BLE001 - recording whatever the SDK raises is the point
            lines = [type(error).__name__]
            body = getattr(error, "body", None)
            if isinstance(body, dict) and isinstance(body.get("error"), dict) and "type" in body["error"]:
                lines.append(f"type: {body['error']['type']}")
            stem.with_suffix(".error.txt").write_text("\n".join(lines) + "\n")
            stem.with_suffix(".json").unlink(missing_ok=True)
            outcome = lines[0]
        Path(str(stem) + ".text.txt").write_text(text)
        print(f"{transcript.name}: {outcome}")
        await client.close()
    finally:
        server.kill()
        server.wait()


async def main() -> None:
    mock = Path(sys.argv[1])
    for name in sys.argv[2:]:
        await record(mock, Path(name))


asyncio.run(main())
