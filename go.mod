module github.com/saliencykit/saliency

go 1.26.8

require (
	github.com/sbinet/npyio v0.6.0
	github.com/wamuir/graft v0.10.0
	google.golang.org/protobuf v1.34.2
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/campoy/embedmd v1.0.0 // indirect
	github.com/google/go-cmp v0.6.0 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gonum.org/v1/gonum v0.9.3 // indirect
)
