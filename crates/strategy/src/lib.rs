//! shmtrader-strategy (under construction).
