//! The page at `/`: the records and forwards, with forms to add and remove
//! them. Self-contained (inline CSS, no scripts, no external assets), plain
//! form posts, labels on every field.

use std::collections::HashMap;
use std::fmt::Write;

use super::records::{DnsRecord, ForwardRule, ProviderError, RecordKind, DEFAULT_TTL};

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #ccc;vertical-align:top}\
td.value{font-family:ui-monospace,monospace;word-break:break-all}\
fieldset{border:1px solid #999;margin-top:1rem}label{display:inline-block;margin:.25rem 1rem .25rem 0}\
input,select,button{font:inherit}button{padding:.2rem .8rem}\
.problem{border:2px solid #b00020;padding:.5rem 1rem;color:#b00020}.hint{color:#555}";

pub fn render(
    records: &[DnsRecord],
    forwards: &[ForwardRule],
    problem: Option<&ProviderError>,
    typed: &HashMap<String, String>,
) -> String {
    let typed_value = |name: &str| escape(typed.get(name).map(String::as_str).unwrap_or(""));
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Local DNS provider and registrar</title><style>{STYLE}</style></head><body>\
         <header><h1>Local DNS provider and registrar</h1>\
         <p class=\"hint\">This plays your customers' DNS provider (records, answered at once by the \
         local DNS server) and their registrar's URL forwarding. Nameserver: <code>ns1.dns-host.test</code>.</p></header><main>"
    );
    if let Some(problem) = problem {
        let _ = write!(
            html,
            "<div class=\"problem\" role=\"alert\"><strong>Not saved:</strong> {} <span class=\"hint\">({})</span></div>",
            escape(&problem.message),
            problem.code
        );
    }

    html.push_str(
        "<section aria-labelledby=\"records-heading\"><h2 id=\"records-heading\">DNS records</h2>",
    );
    if records.is_empty() {
        html.push_str("<p>No records yet.</p>");
    } else {
        html.push_str(
            "<table><caption class=\"hint\">Every record, by name</caption><thead><tr><th scope=\"col\">Name</th>\
             <th scope=\"col\">Type</th><th scope=\"col\">Value</th><th scope=\"col\">TTL</th>\
             <th scope=\"col\"><span class=\"hint\">Action</span></th></tr></thead><tbody>",
        );
        for record in records {
            let _ = write!(
                html,
                "<tr><td>{name}</td><td>{kind}</td><td class=\"value\">{value}</td><td>{ttl}</td><td>\
                 <form method=\"post\" action=\"/records/delete\">\
                 <input type=\"hidden\" name=\"name\" value=\"{name}\">\
                 <input type=\"hidden\" name=\"type\" value=\"{kind}\">\
                 <input type=\"hidden\" name=\"value\" value=\"{value}\">\
                 <button type=\"submit\" aria-label=\"Remove {kind} record {name} {value}\">Remove</button></form></td></tr>",
                name = escape(&record.name),
                kind = record.kind.as_str(),
                value = escape(&record.value),
                ttl = record.ttl,
            );
        }
        html.push_str("</tbody></table>");
    }
    let typed_kind = typed.get("type").map(String::as_str).unwrap_or("CNAME");
    let mut options = String::new();
    for kind in RecordKind::ALL {
        let selected = if kind.as_str().eq_ignore_ascii_case(typed_kind) {
            " selected"
        } else {
            ""
        };
        let _ = write!(options, "<option{selected}>{}</option>", kind.as_str());
    }
    let ttl = typed
        .get("ttl")
        .cloned()
        .unwrap_or_else(|| DEFAULT_TTL.to_string());
    let _ = write!(
        html,
        "<form method=\"post\" action=\"/records\"><fieldset><legend>Add a record</legend>\
         <label for=\"record-name\">Name</label><input id=\"record-name\" name=\"name\" required \
         placeholder=\"sales.shop.test\" value=\"{name}\">\
         <label for=\"record-type\">Type</label><select id=\"record-type\" name=\"type\">{options}</select>\
         <label for=\"record-value\">Value</label><input id=\"record-value\" name=\"value\" required \
         placeholder=\"demo.portico.test\" value=\"{value}\">\
         <label for=\"record-ttl\">TTL (seconds)</label><input id=\"record-ttl\" name=\"ttl\" inputmode=\"numeric\" size=\"6\" value=\"{ttl}\">\
         <button type=\"submit\">Add record</button>\
         <p class=\"hint\">Names are full names (<code>www.shop.test</code>); a CNAME's value is a host name.</p>\
         </fieldset></form></section>",
        name = typed_value("name"),
        value = typed_value("value"),
        ttl = escape(&ttl),
    );

    html.push_str("<section aria-labelledby=\"forwards-heading\"><h2 id=\"forwards-heading\">URL forwarding (registrar)</h2>");
    if forwards.is_empty() {
        html.push_str("<p>No forwards yet.</p>");
    } else {
        html.push_str(
            "<table><caption class=\"hint\">Hosts the registrar forwards</caption><thead><tr><th scope=\"col\">Host</th>\
             <th scope=\"col\">Forwards to</th><th scope=\"col\">Status</th><th scope=\"col\">Path kept</th>\
             <th scope=\"col\"><span class=\"hint\">Action</span></th></tr></thead><tbody>",
        );
        for forward in forwards {
            let _ = write!(
                html,
                "<tr><td>{host}</td><td class=\"value\">{to}</td><td>{status}</td><td>{kept}</td><td>\
                 <form method=\"post\" action=\"/forwards/delete\"><input type=\"hidden\" name=\"host\" value=\"{host}\">\
                 <button type=\"submit\" aria-label=\"Remove forwarding of {host}\">Remove</button></form></td></tr>",
                host = escape(&forward.host),
                to = escape(&forward.to),
                status = forward.status,
                kept = if forward.keep_path { "yes" } else { "no" },
            );
        }
        html.push_str("</tbody></table>");
    }
    let status = typed.get("status").cloned().unwrap_or_else(|| "301".into());
    let keep_path = if typed.is_empty() || typed.contains_key("keep_path") {
        " checked"
    } else {
        ""
    };
    let _ = write!(
        html,
        "<form method=\"post\" action=\"/forwards\"><fieldset><legend>Forward a host</legend>\
         <label for=\"forward-host\">Host</label><input id=\"forward-host\" name=\"host\" required \
         placeholder=\"shop.test\" value=\"{host}\">\
         <label for=\"forward-to\">Forward to</label><input id=\"forward-to\" name=\"to\" required \
         placeholder=\"https://www.shop.test\" value=\"{to}\">\
         <label for=\"forward-status\">Status</label><input id=\"forward-status\" name=\"status\" \
         inputmode=\"numeric\" size=\"4\" value=\"{status}\">\
         <label><input type=\"checkbox\" name=\"keep_path\" value=\"true\"{keep_path}> Keep the path and query</label>\
         <button type=\"submit\">Save forward</button>\
         <p class=\"hint\">Forwarding sets the host's A record to the registrar's forwarding address (127.0.0.1).</p>\
         </fieldset></form></section></main></body></html>",
        host = typed_value("host"),
        to = typed_value("to"),
        status = escape(&status),
    );
    html
}

pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
