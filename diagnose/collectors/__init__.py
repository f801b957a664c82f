"""Collectors: turn logs, tracking exports, configs and bounces into Events and stories."""
