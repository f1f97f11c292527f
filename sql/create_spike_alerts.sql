-- spike_alerts: one row per day and platform whose negative mentions spiked against the trailing
-- baseline (see alerts: in the configuration). A rerun of the day replaces its rows.
CREATE TABLE IF NOT EXISTS spike_alerts (
    day            {{ date_type }} NOT NULL,
    platform       VARCHAR(32) NOT NULL,
    negative       BIGINT NOT NULL,
    baseline_mean  DOUBLE PRECISION NOT NULL,
    baseline_std   DOUBLE PRECISION NOT NULL,
    z_score        DOUBLE PRECISION NOT NULL,
    ratio          DOUBLE PRECISION,
    history_days   INTEGER NOT NULL,
    PRIMARY KEY (day, platform)
);
