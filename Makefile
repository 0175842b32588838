# The two set-up commands of the README. Both run as root: test hosts live
# in network namespaces.
.PHONY: demo test build

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

build:
	go build -o bin/hako ./cmd/hako
