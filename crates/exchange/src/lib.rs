//! shmtrader-exchange (under construction).
