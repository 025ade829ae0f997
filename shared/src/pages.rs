//! The pages the platform answers with itself: "domain not connected" and
//! request errors. Plain, self-contained HTML with no tenant data.

use crate::route::Problem;

/// The HTML for a problem, branded with the platform's name.
pub fn problem_page(problem: Problem, platform_name: &str) -> String {
    let platform = escape_html(platform_name);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1.5rem;color:#222;line-height:1.5}}\
         h1{{font-size:1.5rem}}footer{{margin-top:3rem;color:#777;font-size:.875rem}}</style>\n\
         </head>\n<body>\n<main>\n<h1>{title}</h1>\n<p>{message}</p>\n</main>\n\
         <footer>{status} · {platform}</footer>\n</body>\n</html>\n",
        title = problem.title(),
        message = problem.message(),
        status = problem.status(),
    )
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_pages_carry_no_tenant_data_and_escape_the_brand() {
        let html = problem_page(Problem::NotConnected, "<Pages & Co>");
        assert!(html.contains("<h1>This domain is not connected</h1>"));
        assert!(html.contains("&lt;Pages &amp; Co&gt;"));
        assert!(html.contains("404"));
        assert!(!html.contains("<Pages"));
    }
}
