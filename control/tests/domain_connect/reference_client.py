"""Builds a Domain Connect synchronous apply URL with the standard's reference
client (`domain-connect` on PyPI, pinned in scripts/api-tools.txt), for
control/tests/domain_connect.rs to compare with Portico's.

Reads one JSON object on stdin: {url_sync_ux, provider_id, service_id,
domain, host, params, redirect_uri, state, private_key, key_id}; prints the
URL. Discovery (DNS and HTTPS) is given the provider settings instead of
fetched: what is compared is how the URL is built and signed.
"""
import json
import sys

from domainconnect import DomainConnect, DomainConnectConfig

req = json.load(sys.stdin)
dc = DomainConnect()
settings = {
    "providerId": "provider.test",
    "providerName": "Provider",
    "urlSyncUX": req["url_sync_ux"],
    "urlAPI": "https://api.provider.test",
}
fqdn = (req["host"] + "." if req["host"] else "") + req["domain"]
config = DomainConnectConfig(fqdn, req["domain"], req["host"] or "", settings)
dc.get_domain_config = lambda domain: config
dc.check_template_supported = lambda config, provider_id, service_ids: None
print(
    dc.get_domain_connect_template_sync_url(
        fqdn,
        req["provider_id"],
        req["service_id"],
        redirect_uri=req["redirect_uri"],
        params=dict(req["params"]),
        state=req["state"],
        sign=True,
        private_key=req["private_key"],
        keyid=req["key_id"],
    )
)
