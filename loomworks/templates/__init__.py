"""The app templates we ship: Dify DSL files, listed by `GET /console/api/app-templates`."""
