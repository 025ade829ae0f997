//! Cursor pagination, the same on every list: `limit` (default
//! [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]), an opaque `cursor` naming the
//! last row of the previous page (its sort key and id, so rows inserted
//! meanwhile neither repeat nor shift the next page), and `next_cursor`,
//! null on the last page. The store reads `limit + 1` rows past the cursor
//! (keyset, never OFFSET) to know whether another page follows.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiError;
use crate::store::Position;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

/// `?limit=&cursor=` on every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items, 1 to 500; default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous answer; omit for the first page.
    pub cursor: Option<String>,
}

/// One page to read: after `after` (none: from the start), `limit` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub after: Option<Position>,
    pub limit: i64,
}

impl PageQuery {
    /// 400 `invalid_query` for a limit out of range, `invalid_cursor` for a
    /// cursor this API did not hand out.
    pub fn window(&self) -> Result<Window, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest {
                code: "invalid_query",
                message: format!("limit is 1 to {MAX_LIMIT}"),
            });
        }
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => Some(decode(cursor).ok_or(ApiError::BadRequest {
                code: "invalid_cursor",
                message: "pass the next_cursor of a previous answer".into(),
            })?),
        };
        Ok(Window { after, limit })
    }
}

impl Window {
    /// Rows to ask the store for: one more than the page shows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Where the page starts in a list ordered by `(key, id)`.
    pub fn start(&self) -> Position {
        self.after.clone().unwrap_or_else(Position::start)
    }

    /// Where the page starts in a list read newest first by a unique number.
    pub fn below(&self) -> i64 {
        self.after
            .as_ref()
            .map_or(i64::MAX, |position| position.key)
    }

    /// Cuts the rows read with [`Window::fetch`] to the page, and says where
    /// the next one starts (`None` on the last page).
    pub fn finish<T>(
        &self,
        mut rows: Vec<T>,
        position: impl Fn(&T) -> Position,
    ) -> (Vec<T>, Option<String>) {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next = more.then(|| rows.last().map(|row| encode(&position(row))));
        (rows, next.flatten())
    }
}

fn encode(position: &Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", position.key, position.id))
}

fn decode(cursor: &str) -> Option<Position> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (key, id) = text.split_once(':')?;
    // Ids are ours (`dom_…`, `pg_…`): nothing else reaches a query.
    let id_ok = id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = key.parse().ok()?;
    id_ok.then(|| Position {
        key,
        id: id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<i64>, cursor: Option<&str>) -> PageQuery {
        PageQuery {
            limit,
            cursor: cursor.map(str::to_string),
        }
    }

    #[test]
    fn a_cursor_round_trips() {
        let position = Position {
            key: 1_700_000_000_000,
            id: "dom_4f2a".into(),
        };
        let cursor = encode(&position);
        let window = query(Some(3), Some(&cursor)).window().unwrap();
        assert_eq!(window.after, Some(position));
        assert_eq!(window.limit, 3);
    }

    #[test]
    fn bad_limits_and_cursors_are_refused() {
        let code = |q: PageQuery| match q.window() {
            Err(ApiError::BadRequest { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(query(Some(0), None)), "invalid_query");
        assert_eq!(code(query(Some(MAX_LIMIT + 1), None)), "invalid_query");
        let forged = URL_SAFE_NO_PAD.encode("1:dom\u{0}x");
        for cursor in ["%%%", "bm9jb2xvbg", forged.as_str(), "MTp4OnsnfQ"] {
            assert_eq!(
                code(query(None, Some(cursor))),
                "invalid_cursor",
                "{cursor}"
            );
        }
    }

    #[test]
    fn the_last_page_has_no_next_cursor() {
        let window = query(Some(2), None).window().unwrap();
        let position = |n: &i64| Position {
            key: *n,
            id: format!("id_{n}"),
        };
        let (rows, next) = window.finish(vec![1, 2, 3], position);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(next, Some(encode(&position(&2))));
        let (rows, next) = window.finish(vec![1, 2], position);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(next, None);
    }
}
