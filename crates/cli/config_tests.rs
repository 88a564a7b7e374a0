use super::*;

fn serve_args() -> ServeArgs {
    ServeArgs {
        host: None,
        port: None,
        gateway_listen: None,
        prewarm: None,
        pull_models: None,
        queue_capacity: None,
        max_sequences: None,
        prefix_cache_mb: None,
        max_body_bytes: None,
        region: None,
        deterministic: None,
        rules: None,
        history_size: None,
        cassettes: Box::default(),
        strict_profiles: None,
        batch_s3_endpoint: None,
        batch_s3_access_key_id: None,
        batch_s3_secret_access_key: None,
        batch_s3_region: None,
        batch_s3_path_style: None,
    }
}

#[test]
fn batch_s3_defaults_to_this_server_and_can_point_elsewhere() {
    let c = ServeConfig::resolve(&serve_args(), &FileLayer(FileConfig::default())).unwrap();
    assert_eq!(c.batch_s3.endpoint, None);
    assert_eq!(c.batch_s3.region, "us-east-1");
    assert!(c.batch_s3.path_style);
    let file = toml_from_str(
        "batch_s3_endpoint = \"http://minio:9000\"\nbatch_s3_path_style = false\nregion = \"eu-west-1\"",
    )
    .unwrap();
    let mut args = serve_args();
    args.batch_s3_secret_access_key = Some("s3cr3t".into());
    let c = ServeConfig::resolve(&args, &FileLayer(file)).unwrap();
    assert_eq!(c.batch_s3.endpoint.as_deref(), Some("http://minio:9000"));
    assert!(!c.batch_s3.path_style);
    assert_eq!(c.batch_s3.region, "eu-west-1");
    assert_eq!(c.batch_s3.secret_access_key, "s3cr3t");
    assert!(!format!("{:?}", c.batch_s3).contains("s3cr3t"));
}

#[test]
fn test_double_settings_default_and_come_from_the_file() {
    let c = ServeConfig::resolve(&serve_args(), &FileLayer(FileConfig::default())).unwrap();
    assert!(!c.deterministic);
    assert_eq!(
        c.history_size,
        bedrock_local_facade::Doubles::DEFAULT_HISTORY
    );
    let file = toml_from_str("deterministic = true\nhistory_size = 5\nrules = \"r.json\"").unwrap();
    let c = ServeConfig::resolve(&serve_args(), &FileLayer(file)).unwrap();
    assert!(c.deterministic);
    assert_eq!(c.history_size, 5);
    assert_eq!(c.rules.as_deref(), Some(std::path::Path::new("r.json")));
}

#[test]
fn record_and_replay_settings() {
    use bedrock_local_facade::{CassetteMode, MissPolicy, Upstream};
    let file = |text: &str| FileLayer(toml_from_str(text).unwrap());
    let c = ServeConfig::resolve(&serve_args(), &file("")).unwrap();
    assert!(matches!(c.cassettes, CassetteMode::Off));
    let c = ServeConfig::resolve(&serve_args(), &file("replay = \"cas\"")).unwrap();
    assert!(matches!(
        c.cassettes,
        CassetteMode::Replay {
            miss: MissPolicy::Fail,
            ..
        }
    ));
    let mut args = serve_args();
    args.cassettes.replay_miss = Some("model".into());
    let c = ServeConfig::resolve(&args, &file("replay = \"cas\"")).unwrap();
    assert!(matches!(
        c.cassettes,
        CassetteMode::Replay {
            miss: MissPolicy::Model,
            ..
        }
    ));
    let mut args = serve_args();
    args.cassettes.record = Some("cas".into());
    assert!(
        ServeConfig::resolve(&args, &file("")).is_err(),
        "record needs an upstream"
    );
    let c = ServeConfig::resolve(&args, &file("upstream = \"real\"")).unwrap();
    assert!(matches!(
        c.cassettes,
        CassetteMode::Record {
            upstream: Upstream::Real,
            ..
        }
    ));
    assert!(ServeConfig::resolve(&args, &file("upstream = \"real\"\nreplay = \"x\"")).is_err());
    let mut args = serve_args();
    args.cassettes.replay = Some("cas".into());
    args.cassettes.replay_miss = Some("maybe".into());
    assert!(ServeConfig::resolve(&args, &file("")).is_err());
}

#[test]
fn gateway_listen_is_honoured_and_flags_win() {
    let mut args = serve_args();
    args.gateway_listen = Some("0.0.0.0:4567,0.0.0.0:443".into());
    let c = ServeConfig::resolve(&args, &FileLayer(FileConfig::default())).unwrap();
    assert_eq!(c.listen.to_string(), "0.0.0.0:4567");
    args.port = Some(9000);
    let c = ServeConfig::resolve(&args, &FileLayer(FileConfig::default())).unwrap();
    assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
}

#[test]
fn localstack_style_booleans_parse() {
    use clap::Parser;
    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        serve: ServeArgs,
    }
    for (arg, want) in [("1", true), ("true", true), ("0", false), ("no", false)] {
        let t = T::try_parse_from(["t", "--prewarm", arg]).unwrap();
        assert_eq!(t.serve.prewarm, Some(want), "{arg}");
    }
    let t = T::try_parse_from(["t", "--prewarm"]).unwrap();
    assert_eq!(t.serve.prewarm, Some(true));
}

fn common_args(threads: Option<usize>, config: Option<PathBuf>) -> CommonArgs {
    CommonArgs {
        config,
        data_dir: None,
        models_file: None,
        default_model: None,
        default_embedding_model: None,
        threads,
        max_context: None,
        offline: None,
    }
}

#[test]
fn threads_default_to_the_usable_cpus_and_the_override_wins() {
    let usable = bedrock_local_engine::threads::default_threads();
    let (c, _) = Config::resolve(&common_args(None, None)).unwrap();
    assert_eq!(c.threads, Some(usable));
    let (c, _) = Config::resolve(&common_args(Some(0), None)).unwrap();
    assert_eq!(c.threads, Some(usable));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "threads = 3").unwrap();
    let (c, _) = Config::resolve(&common_args(None, Some(path.clone()))).unwrap();
    assert_eq!(c.threads, Some(3));
    let (c, _) = Config::resolve(&common_args(Some(5), Some(path))).unwrap();
    assert_eq!(c.threads, Some(5));
}

#[test]
fn threads_flag_and_environment_parse() {
    use clap::{CommandFactory, Parser};
    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        common: CommonArgs,
    }
    let t = T::try_parse_from(["t", "--threads", "7"]).unwrap();
    assert_eq!(t.common.threads, Some(7));
    let arg = T::command()
        .get_arguments()
        .find(|a| a.get_id() == "threads")
        .and_then(|a| a.get_env().map(|e| e.to_os_string()));
    assert_eq!(
        arg.as_deref(),
        Some(std::ffi::OsStr::new("BEDROCK_LOCAL_THREADS"))
    );
}

#[test]
fn defaults_are_localstack_compatible() {
    let c = ServeConfig::resolve(&serve_args(), &FileLayer(FileConfig::default())).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:4566");
    assert!(!c.prewarm);
}

#[test]
fn file_values_fill_gaps_and_unknown_keys_fail() {
    let file = toml_from_str("port = 1234\nprewarm = true").unwrap();
    let c = ServeConfig::resolve(&serve_args(), &FileLayer(file)).unwrap();
    assert_eq!(c.listen.port(), 1234);
    assert!(c.prewarm);
    assert!(toml_from_str("prot = 1").is_err());
}
