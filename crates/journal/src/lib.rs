//! shmtrader-journal (under construction).
