"""HTTP: the console API (`/console/api`), the Service API (`/v1`) and the web-app API (`/api`)."""
