//! shmtrader-risk (under construction).
