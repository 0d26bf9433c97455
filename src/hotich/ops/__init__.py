"""Operations: run reports, incidents, the dashboard."""
