"""The dashboard and the job detail: the job table, its rows, cells, states, filters and actions."""
