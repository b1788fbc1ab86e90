module github.com/smolvm/smolvm

go 1.26
