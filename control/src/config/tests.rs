use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_are_documented_ones() {
    let settings = Settings::resolve(RawSettings::default()).unwrap();
    assert_eq!(settings.platform_domain.host().as_str(), "portico.test");
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(
        settings.database_url,
        "sqlite://.portico/portico.db?mode=rwc"
    );
    assert_eq!(settings.kv, KvSettings::None);
    assert!(!settings.allow_test_domains);
    assert!(settings.require_admin_token().is_err());
}

#[test]
fn environment_wins_over_the_file() {
    let file: RawSettings =
        toml::from_str("listen = \"127.0.0.1:9000\"\nkv = \"local\"\nlocal_kv_token = \"t\"\n")
            .unwrap();
    let raw = file
        .overlay_env(&env(&[
            ("PORTICO_LISTEN", "127.0.0.1:9100"),
            ("PORTICO_DEV", "true"),
            ("PORTICO_ALLOW_TEST_DOMAINS", "true"),
        ]))
        .unwrap();
    let settings = Settings::resolve(raw).unwrap();
    assert_eq!(settings.listen.port(), 9100);
    assert!(settings.allow_test_domains);
    assert!(settings.require_admin_token().is_ok());
    assert_eq!(
        settings.kv,
        KvSettings::Local {
            edge_url: DEFAULT_LOCAL_EDGE_URL.into(),
            token: "t".into()
        }
    );
}

#[test]
fn the_dev_clock_offset_is_refused_outside_development() {
    let raw = RawSettings::default()
        .overlay_env(&env(&[
            ("PORTICO_DEV", "true"),
            ("PORTICO_DEV_CLOCK_OFFSET_SECS", "86400"),
        ]))
        .unwrap();
    assert_eq!(
        Settings::resolve(raw).unwrap().dev_clock_offset_ms,
        86_400_000
    );
    assert_eq!(
        Settings::resolve(RawSettings::default())
            .unwrap()
            .dev_clock_offset_ms,
        0
    );
    let shifted = || RawSettings {
        dev: Some(true),
        dev_clock_offset_secs: Some(86_400),
        ..Default::default()
    };
    for production in [
        RawSettings {
            dev: None,
            ..shifted()
        },
        RawSettings {
            database_url: Some("postgres://db/portico".into()),
            ..shifted()
        },
        RawSettings {
            certificate_provider: Some("cloudflare".into()),
            cloudflare_zone_id: Some("023e105f4ecef8ad9ca31a8372d0c353".into()),
            cloudflare_api_token: Some("t".into()),
            ..shifted()
        },
    ] {
        assert!(matches!(
            Settings::resolve(production),
            Err(ConfigError::Invalid {
                name: "dev_clock_offset_secs",
                ..
            })
        ));
    }
}

#[test]
fn refuses_what_it_cannot_use() {
    assert!(toml::from_str::<RawSettings>("colour = \"blue\"").is_err());
    let raw = RawSettings {
        kv: Some("cloudflare".into()),
        ..Default::default()
    };
    assert!(matches!(
        Settings::resolve(raw),
        Err(ConfigError::Missing("cloudflare_account_id"))
    ));
    let raw = RawSettings {
        platform_domain: Some("com".into()),
        ..Default::default()
    };
    assert!(Settings::resolve(raw).is_err());
}

#[test]
fn cloudflare_certificates_need_a_zone_and_a_token() {
    let settings = Settings::resolve(RawSettings::default()).unwrap();
    assert_eq!(settings.certificate_provider, CertificateProvider::None);
    let raw = RawSettings {
        certificate_provider: Some("cloudflare".into()),
        cloudflare_api_token: Some("t".into()),
        ..Default::default()
    };
    assert!(matches!(
        Settings::resolve(raw),
        Err(ConfigError::Missing("cloudflare_zone_id"))
    ));
    let raw = RawSettings::default()
        .overlay_env(&env(&[
            ("PORTICO_CERTIFICATE_PROVIDER", "cloudflare"),
            (
                "PORTICO_CLOUDFLARE_ZONE_ID",
                "023e105f4ecef8ad9ca31a8372d0c353",
            ),
        ]))
        .unwrap();
    assert!(matches!(
        Settings::resolve(raw),
        Err(ConfigError::Missing("cloudflare_api_token"))
    ));
    let raw = RawSettings {
        certificate_provider: Some("cloudflare".into()),
        cloudflare_zone_id: Some("../accounts".into()),
        cloudflare_api_token: Some("t".into()),
        ..Default::default()
    };
    assert!(Settings::resolve(raw).is_err());
    let raw = RawSettings {
        certificate_provider: Some("cloudflare".into()),
        cloudflare_zone_id: Some("023e105f4ecef8ad9ca31a8372d0c353".into()),
        cloudflare_api_token: Some("t".into()),
        kv: Some("local".into()),
        local_kv_token: Some("l".into()),
        ..Default::default()
    };
    assert_eq!(
        Settings::resolve(raw).unwrap().certificate_provider,
        CertificateProvider::Cloudflare {
            api_url: DEFAULT_CLOUDFLARE_API.into(),
            api_token: "t".into(),
            zone_id: "023e105f4ecef8ad9ca31a8372d0c353".into(),
        }
    );
    let raw = RawSettings {
        certificate_provider: Some("letsencrypt".into()),
        ..Default::default()
    };
    assert!(Settings::resolve(raw).is_err());
}

#[test]
fn hsts_is_a_year_with_certificates_configurable_and_off_without_them() {
    let cloudflare = |env_pairs: &[(&str, &str)]| {
        let mut pairs = vec![
            ("PORTICO_CERTIFICATE_PROVIDER", "cloudflare"),
            (
                "PORTICO_CLOUDFLARE_ZONE_ID",
                "023e105f4ecef8ad9ca31a8372d0c353",
            ),
            ("PORTICO_CLOUDFLARE_API_TOKEN", "t"),
        ];
        pairs.extend_from_slice(env_pairs);
        RawSettings::default()
            .overlay_env(&env(&pairs))
            .and_then(Settings::resolve)
    };
    assert_eq!(cloudflare(&[]).unwrap().hsts_max_age_s, 31_536_000);
    let set = [("PORTICO_HSTS_MAX_AGE_S", "600")];
    assert_eq!(cloudflare(&set).unwrap().hsts_max_age_s, 600);
    let off = [("PORTICO_HSTS_MAX_AGE_S", "0")];
    assert_eq!(cloudflare(&off).unwrap().hsts_max_age_s, 0);
    for bad in ["-1", "a year", "99999999999"] {
        let bad = [("PORTICO_HSTS_MAX_AGE_S", bad)];
        assert!(cloudflare(&bad).is_err(), "{bad:?}");
    }
    // The local stack: no certificates, plain HTTP, no HSTS whatever is set.
    let local = RawSettings::default()
        .overlay_env(&env(&[("PORTICO_HSTS_MAX_AGE_S", "600")]))
        .unwrap();
    assert_eq!(Settings::resolve(local).unwrap().hsts_max_age_s, 0);
}

#[test]
fn rate_limits_and_quotas_come_from_the_environment() {
    let settings = Settings::resolve(RawSettings::default()).unwrap();
    assert_eq!(
        settings.rate_limits,
        crate::api::limits::RateLimitSettings::default()
    );
    assert_eq!(settings.quotas, crate::quota::Quotas::default());
    let raw = RawSettings::default()
        .overlay_env(&env(&[
            ("PORTICO_RATE_LIMIT_READS_PER_MIN", "0"),
            ("PORTICO_RATE_LIMIT_VERIFY_PER_MIN", "5"),
            ("PORTICO_CLIENT_IP_HEADER", "CF-Connecting-IP"),
            ("PORTICO_QUOTA_DOMAINS", "3"),
            ("PORTICO_QUOTA_REVISIONS_KEPT", "0"),
        ]))
        .unwrap();
    let settings = Settings::resolve(raw).unwrap();
    assert_eq!(settings.rate_limits.reads_per_min, 0);
    assert_eq!(settings.rate_limits.verify_per_min, 5);
    assert_eq!(
        settings.rate_limits.client_ip_header.unwrap().as_str(),
        "cf-connecting-ip"
    );
    assert_eq!(settings.quotas.domains, 3);
    assert_eq!(
        settings.quotas.oldest_kept(10),
        None,
        "0 keeps every revision"
    );
    let bad = RawSettings::default().overlay_env(&env(&[("PORTICO_QUOTA_PAGES", "-1")]));
    assert!(bad.unwrap_err().to_string().contains("PORTICO_QUOTA_PAGES"));
    let raw = RawSettings::default()
        .overlay_env(&env(&[("PORTICO_CLIENT_IP_HEADER", "not a header")]))
        .unwrap();
    let err = Settings::resolve(raw).unwrap_err().to_string();
    assert!(err.contains("client_ip_header"), "{err}");
}

#[test]
fn every_setting_is_one_field_read_from_the_file_and_its_variable() {
    let keys = RawSettings::keys();
    assert!(keys.len() > 60, "{keys:?}");
    // Each key is documented once, as its variable, in the settings table.
    let readme = include_str!("../../README.md");
    for key in keys {
        let var = format!("`{ENV_PREFIX}{}`", key.to_ascii_uppercase());
        assert_eq!(
            readme.matches(&format!("\n| {var} |")).count(),
            1,
            "{var} should have exactly one row in control/README.md's settings table"
        );
    }
    // Text that looks like a number or a boolean stays text where the
    // setting is text; the layering reads numbers and booleans from text.
    let raw = RawSettings::default()
        .overlay_env(&env(&[
            ("PORTICO_ADMIN_TOKEN", "12345"),
            ("PORTICO_METRICS_TOKEN", "true"),
            ("PORTICO_DNS_NAMESERVER_PORT", "5354"),
            ("PORTICO_VERIFIER", "false"),
            // Not settings: ignored, as an empty variable is.
            ("PORTICO_ROOT", "/work"),
            ("PORTICO_TEST_POSTGRES_URL", "postgres://x"),
            ("PORTICO_LISTEN", ""),
            ("HOME", "/root"),
        ]))
        .unwrap();
    assert_eq!(raw.admin_token.as_deref(), Some("12345"));
    assert_eq!(raw.metrics_token.as_deref(), Some("true"));
    assert_eq!(raw.dns_nameserver_port, Some(5354));
    assert_eq!(raw.verifier, Some(false));
    assert_eq!(raw.listen, None);
    // The file's unknown keys are still refused.
    let unknown = toml::from_str::<RawSettings>("listen = \"127.0.0.1:1\"\nlisten_port = 1\n");
    assert!(unknown.unwrap_err().to_string().contains("listen_port"));
    // A bad value names its variable and what it holds.
    let err = RawSettings::default()
        .overlay_env(&env(&[("PORTICO_DNS_NAMESERVER_PORT", "99999")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("PORTICO_DNS_NAMESERVER_PORT: `99999` is not valid"),
        "{err}"
    );
}
