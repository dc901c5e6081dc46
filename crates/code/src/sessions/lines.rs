//! Reading a transcript line by line with a cap on a line's length, so that memory stays
//! bounded whatever the file holds.

use std::io::{self, BufRead};

/// What [`read_capped_line`] read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// A line (maybe the last, unterminated) is in the buffer.
    Complete,
    /// A line longer than the cap was read through and dropped.
    TooLong,
    /// The input is at its end.
    End,
}

/// Reads one line into `line` (without its terminator: `\n`, `\r\n` or `\r`, the universal
/// newlines of the SDK's text read). A line over `cap` bytes is consumed piecewise and
/// dropped, so that memory stays bounded by `cap`.
pub(super) fn read_capped_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Line> {
    line.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if buffer.is_empty() {
            return Ok(match (read_any, too_long) {
                (false, _) => Line::End,
                (true, true) => Line::TooLong,
                (true, false) => Line::Complete,
            });
        }
        read_any = true;
        let terminator = buffer.iter().position(|&b| b == b'\n' || b == b'\r');
        let take = terminator.unwrap_or(buffer.len());
        if !too_long {
            if line.len() + take > cap {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(&buffer[..take]);
            }
        }
        match terminator {
            Some(at) => {
                // A `\r` or `\n` ends the line; `\r\n` then leaves an empty line, skipped.
                reader.consume(at + 1);
                return Ok(if too_long {
                    Line::TooLong
                } else {
                    Line::Complete
                });
            }
            None => reader.consume(take),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor};

    #[test]
    fn capped_lines_skip_what_is_too_long() {
        let input = b"short\r\nexactly-10\nthis one is too long\rlast";
        let mut reader = BufReader::with_capacity(4, Cursor::new(&input[..]));
        let mut line = Vec::new();
        let mut got = Vec::new();
        loop {
            match read_capped_line(&mut reader, &mut line, 10).unwrap() {
                Line::End => break,
                Line::TooLong => got.push("<too long>".to_owned()),
                Line::Complete => got.push(String::from_utf8(line.clone()).unwrap()),
            }
        }
        assert_eq!(got, ["short", "", "exactly-10", "<too long>", "last"]);
        // A too-long last line without a terminator.
        let mut reader = Cursor::new(&b"0123456789abc"[..]);
        assert_eq!(
            read_capped_line(&mut reader, &mut line, 10).unwrap(),
            Line::TooLong
        );
        assert_eq!(
            read_capped_line(&mut reader, &mut line, 10).unwrap(),
            Line::End
        );
    }
}
