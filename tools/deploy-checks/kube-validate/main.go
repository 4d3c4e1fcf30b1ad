// Command kube-validate checks rendered Kubernetes manifests offline, the way the API server's
// decoder would: every document must be a kind this tool knows (the built-in workload, network and
// policy kinds the chart uses, plus the prometheus-operator CRDs), decode strictly into its typed
// Go object (unknown fields, duplicate fields and wrong types are errors), and pass a few checks
// the types alone cannot express (valid names and labels, selectors that match their pods).
//
// Usage: kube-validate FILE... (or "-" for standard input). Exit 0 when every document is valid,
// 1 when any is not (one line per problem), 2 on usage errors.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// documentSizeBytesMax bounds one YAML document; rendered manifests are far smaller.
const documentSizeBytesMax = 4 << 20

func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	adders := []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, autoscalingv2.AddToScheme,
		policyv1.AddToScheme, networkingv1.AddToScheme, rbacv1.AddToScheme, monitoringv1.AddToScheme,
	}
	for _, add := range adders {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

type header struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kube-validate FILE... (- for stdin)")
		os.Exit(2)
	}
	scheme, err := newScheme()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube-validate:", err)
		os.Exit(2)
	}
	problems, documents := 0, 0
	for _, name := range os.Args[1:] {
		var input io.Reader = os.Stdin
		if name != "-" {
			file, err := os.Open(name)
			if err != nil {
				fmt.Fprintln(os.Stderr, "kube-validate:", err)
				os.Exit(2)
			}
			defer file.Close()
			input = file
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReaderSize(input, 64<<10))
		for index := 1; ; index++ {
			raw, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				fmt.Printf("%s: document %d: %v\n", name, index, err)
				problems++
				break
			}
			if len(bytes.TrimSpace(stripComments(raw))) == 0 {
				continue
			}
			documents++
			for _, problem := range validateDocument(scheme, raw) {
				fmt.Printf("%s: document %d: %s\n", name, index, problem)
				problems++
			}
		}
	}
	if problems > 0 {
		fmt.Printf("%d problem(s) in %d document(s)\n", problems, documents)
		os.Exit(1)
	}
	fmt.Printf("%d document(s) valid\n", documents)
}

func stripComments(raw []byte) []byte {
	var kept [][]byte
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			kept = append(kept, line)
		}
	}
	return bytes.Join(kept, []byte("\n"))
}

func validateDocument(scheme *runtime.Scheme, raw []byte) []string {
	if len(raw) > documentSizeBytesMax {
		return []string{fmt.Sprintf("document is larger than %d bytes", documentSizeBytesMax)}
	}
	jsonBytes, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return []string{"not valid YAML: " + err.Error()}
	}
	var head header
	if err := kjson.UnmarshalCaseSensitivePreserveInts(jsonBytes, &head); err != nil {
		return []string{"no readable apiVersion/kind/metadata: " + err.Error()}
	}
	where := fmt.Sprintf("%s %s/%s", head.APIVersion, head.Kind, head.Metadata.Name)
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil || head.Kind == "" {
		return []string{where + ": missing or malformed apiVersion/kind"}
	}
	object, err := scheme.New(gv.WithKind(head.Kind))
	if err != nil {
		return []string{where + ": unknown kind (no schema for it): " + err.Error()}
	}
	strictErrors, err := kjson.UnmarshalStrict(jsonBytes, object)
	if err != nil {
		return []string{where + ": " + err.Error()}
	}
	var problems []string
	for _, strictError := range strictErrors {
		problems = append(problems, where+": "+strictError.Error())
	}
	for _, problem := range checkObject(object) {
		problems = append(problems, where+": "+problem)
	}
	return problems
}

func checkObject(object runtime.Object) []string {
	var problems []string
	accessor, ok := object.(metav1.Object)
	if !ok {
		return []string{"object has no metadata"}
	}
	if accessor.GetName() == "" {
		problems = append(problems, "metadata.name is required")
	} else {
		for _, message := range validation.IsDNS1123Subdomain(accessor.GetName()) {
			problems = append(problems, "metadata.name: "+message)
		}
	}
	problems = append(problems, checkLabels("metadata.labels", accessor.GetLabels())...)
	switch typed := object.(type) {
	case *appsv1.Deployment:
		problems = append(problems, checkSelector("spec.selector", typed.Spec.Selector, typed.Spec.Template.Labels)...)
		problems = append(problems, checkPod(typed.Spec.Template)...)
		if len(typed.Name) > validation.DNS1123LabelMaxLength {
			problems = append(problems, "a Deployment name longer than 63 characters gives invalid pod hostnames")
		}
	case *batchv1.Job:
		problems = append(problems, checkPod(typed.Spec.Template)...)
	case *corev1.Service:
		if len(typed.Spec.Selector) == 0 {
			problems = append(problems, "spec.selector is empty: the Service would select no pods")
		}
		problems = append(problems, checkLabels("spec.selector", typed.Spec.Selector)...)
		if len(typed.Spec.Ports) == 0 {
			problems = append(problems, "spec.ports is empty")
		}
	case *policyv1.PodDisruptionBudget:
		if typed.Spec.Selector == nil || len(typed.Spec.Selector.MatchLabels)+len(typed.Spec.Selector.MatchExpressions) == 0 {
			problems = append(problems, "spec.selector is empty: the budget would cover every pod")
		}
		if (typed.Spec.MinAvailable == nil) == (typed.Spec.MaxUnavailable == nil) {
			problems = append(problems, "exactly one of spec.minAvailable and spec.maxUnavailable is required")
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if typed.Spec.MinReplicas != nil && *typed.Spec.MinReplicas > typed.Spec.MaxReplicas {
			problems = append(problems, "spec.minReplicas is above spec.maxReplicas")
		}
	case *networkingv1.NetworkPolicy:
		if _, err := metav1.LabelSelectorAsSelector(&typed.Spec.PodSelector); err != nil {
			problems = append(problems, "spec.podSelector: "+err.Error())
		}
	}
	return problems
}

func checkLabels(field string, values map[string]string) []string {
	var problems []string
	for key, value := range values {
		for _, message := range validation.IsQualifiedName(key) {
			problems = append(problems, fmt.Sprintf("%s key %q: %s", field, key, message))
		}
		for _, message := range validation.IsValidLabelValue(value) {
			problems = append(problems, fmt.Sprintf("%s[%q] value %q: %s", field, key, value, message))
		}
	}
	return problems
}

func checkSelector(field string, selector *metav1.LabelSelector, podLabels map[string]string) []string {
	if selector == nil {
		return []string{field + " is required"}
	}
	parsed, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return []string{field + ": " + err.Error()}
	}
	if parsed.Empty() {
		return []string{field + " is empty"}
	}
	if !parsed.Matches(labels.Set(podLabels)) {
		return []string{field + " does not match the pod template's labels"}
	}
	return nil
}

func checkPod(template corev1.PodTemplateSpec) []string {
	var problems []string
	problems = append(problems, checkLabels("spec.template.metadata.labels", template.Labels)...)
	if len(template.Spec.Containers) == 0 {
		problems = append(problems, "spec.template.spec.containers is empty")
	}
	for _, container := range template.Spec.Containers {
		if container.Image == "" || strings.HasSuffix(container.Image, ":") {
			problems = append(problems, fmt.Sprintf("container %q has no image tag", container.Name))
		}
		portNames := map[string]bool{}
		for _, port := range container.Ports {
			portNames[port.Name] = true
		}
		for _, probe := range []*corev1.Probe{container.StartupProbe, container.LivenessProbe, container.ReadinessProbe} {
			if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.StrVal != "" && !portNames[probe.HTTPGet.Port.StrVal] {
				problems = append(problems, fmt.Sprintf("container %q: a probe names port %q, which the container does not declare", container.Name, probe.HTTPGet.Port.StrVal))
			}
		}
	}
	return problems
}
