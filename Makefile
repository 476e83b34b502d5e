# Small tasks. The two commands that matter are in the README: scripts/serve.sh and scripts/test.sh.
.PHONY: serve test fmt lint bench docs

serve:
	scripts/serve.sh

test:
	scripts/test.sh

fmt:
	.venv/bin/ruff format loomworks tests bench
	.venv/bin/ruff check --fix loomworks tests bench

lint:
	.venv/bin/ruff check loomworks tests bench
	.venv/bin/lint-imports --no-cache

docs:
	.venv/bin/loomworks settings-doc

bench:
	.venv/bin/python bench/startup.py
