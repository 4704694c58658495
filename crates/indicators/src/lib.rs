//! shmtrader-indicators (under construction).
