# The set-up commands of the README. They run as root: test hosts live in
# network namespaces.
.PHONY: demo test build bench

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

build:
	go build -o bin/hako ./cmd/hako

# Times hako against OpenSSH on test hosts and writes bench/RESULTS.md.
bench:
	bash scripts/bench.sh
