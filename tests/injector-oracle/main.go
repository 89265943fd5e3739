// Command injector-oracle runs one pod through the Vault Agent Injector's own mutation code
// (github.com/hashicorp/vault-k8s/agent-inject/agent), the way the webhook's Handler.Mutate
// does, and prints what the mutated pod would hold. It is a test tool: vaultwire's tests use it
// as a second oracle for the injector annotations vaultwire writes (tests/e2e/oracle.py).
//
// Input on stdin (namespace defaults to "apps", vaultAddress to http://127.0.0.1:8200):
//
//	{"pod": <v1 Pod: metadata (annotations) + spec>, "namespace": "apps",
//	 "vaultAddress": "http://127.0.0.1:8200"}
//
// Output on stdout:
//
//	{"injected": bool,                  // false: ShouldInject said no, nothing patched
//	 "initContainers": [names], "containers": [names],       // after the patch, in order
//	 "agentConfig": <VAULT_CONFIG of vault-agent-init, decoded> | null,
//	 "sidecarConfig": <VAULT_CONFIG of vault-agent, decoded> | null,
//	 "annotations": <the mutated pod's annotations>,
//	 "effectiveAnnotations": <the annotations after agent.Init: what agent.New read>,
//	 "patch": <the webhook's JSON patch> | null, "pod": <the mutated pod>}
//
// Errors (the webhook's admission errors included) go to stderr, exit status 1.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	jsonpatch "github.com/evanphx/json-patch"
	"github.com/hashicorp/vault-k8s/agent-inject/agent"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type input struct {
	Pod          json.RawMessage `json:"pod"`
	Namespace    string          `json:"namespace"`
	VaultAddress string          `json:"vaultAddress"`
}

type output struct {
	Injected             bool              `json:"injected"`
	InitContainers       []string          `json:"initContainers"`
	Containers           []string          `json:"containers"`
	AgentConfig          json.RawMessage   `json:"agentConfig"`
	SidecarConfig        json.RawMessage   `json:"sidecarConfig"`
	Annotations          map[string]string `json:"annotations"`
	EffectiveAnnotations map[string]string `json:"effectiveAnnotations"`
	Patch                json.RawMessage   `json:"patch"`
	Pod                  json.RawMessage   `json:"pod"`
}

const (
	// what the ServiceAccount admission plugin adds before any mutating webhook runs
	saVolume    = "kube-api-access-oracle"
	saMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "injector-oracle:", err)
		os.Exit(1)
	}
}

func run(r io.Reader, w io.Writer) error {
	var in input
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	if len(in.Pod) == 0 {
		return errors.New(`input has no "pod"`)
	}
	if in.Namespace == "" {
		in.Namespace = "apps"
	}
	if in.VaultAddress == "" {
		in.VaultAddress = "http://127.0.0.1:8200"
	}
	var pod corev1.Pod
	if err := json.Unmarshal(in.Pod, &pod); err != nil {
		return fmt.Errorf("decoding pod: %w", err)
	}
	if pod.APIVersion == "" {
		pod.APIVersion, pod.Kind = "v1", "Pod"
	}
	addServiceAccountToken(&pod)
	// the object of the admission request: the patch applies to it
	original, err := json.Marshal(&pod)
	if err != nil {
		return err
	}

	patch, effective, err := mutate(pod.DeepCopy(), in.Namespace, in.VaultAddress)
	if err != nil {
		return err
	}
	mutated := original
	if patch != nil {
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return fmt.Errorf("decoding the injector's patch: %w", err)
		}
		if mutated, err = p.Apply(original); err != nil {
			return fmt.Errorf("applying the injector's patch: %w", err)
		}
	}
	var out corev1.Pod
	if err := json.Unmarshal(mutated, &out); err != nil {
		return fmt.Errorf("decoding the mutated pod: %w", err)
	}

	o := output{
		Injected:             patch != nil,
		InitContainers:       names(out.Spec.InitContainers),
		Containers:           names(out.Spec.Containers),
		Annotations:          out.Annotations,
		EffectiveAnnotations: effective,
		Patch:                patch,
		Pod:                  mutated,
	}
	if o.AgentConfig, err = vaultConfig(out.Spec.InitContainers, "vault-agent-init"); err != nil {
		return err
	}
	if o.SidecarConfig, err = vaultConfig(out.Spec.Containers, "vault-agent"); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(&o); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// mutate follows agent-inject/handler.go Handler.Mutate with the injector's flag defaults
// (subcommand/injector/flags.go) and returns the JSON patch (nil: no injection) and the
// annotations agent.Init left on the pod.
func mutate(pod *corev1.Pod, namespace, address string) ([]byte, map[string]string, error) {
	inject, err := agent.ShouldInject(pod)
	if err != nil && !strings.Contains(err.Error(), "no inject annotation found") {
		return nil, nil, fmt.Errorf("error checking if should inject agent: %s", err)
	} else if !inject {
		return nil, pod.Annotations, nil
	}
	if namespace == metav1.NamespaceSystem || namespace == metav1.NamespacePublic {
		return nil, nil, fmt.Errorf("error with request namespace: cannot inject into system namespaces: %s", namespace)
	}
	cfg := agent.AgentConfig{
		Image:              agent.DefaultVaultImage,
		Address:            address,
		AuthType:           agent.DefaultVaultAuthType,
		AuthPath:           agent.DefaultVaultAuthPath,
		Namespace:          namespace,
		RevokeOnShutdown:   false,
		UserID:             fmt.Sprint(agent.DefaultAgentRunAsUser),
		GroupID:            fmt.Sprint(agent.DefaultAgentRunAsGroup),
		SameID:             agent.DefaultAgentRunAsSameUser,
		SetSecurityContext: agent.DefaultAgentSetSecurityContext,
		DefaultTemplate:    agent.DefaultTemplateType,
		ResourceRequestCPU: agent.DefaultResourceRequestCPU,
		ResourceRequestMem: agent.DefaultResourceRequestMem,
		ResourceLimitCPU:   agent.DefaultResourceLimitCPU,
		ResourceLimitMem:   agent.DefaultResourceLimitMem,
		ExitOnRetryFailure: agent.DefaultTemplateConfigExitOnRetryFailure,
	}
	if err := agent.Init(pod, cfg); err != nil {
		return nil, nil, fmt.Errorf("error adding default annotations: %s", err)
	}
	sidecar, err := agent.New(pod)
	if err != nil {
		return nil, nil, fmt.Errorf("error creating new agent sidecar: %s", err)
	}
	if err := sidecar.Validate(); err != nil {
		return nil, nil, fmt.Errorf("error validating agent configuration: %s", err)
	}
	patch, err := sidecar.Patch()
	if err != nil {
		return nil, nil, fmt.Errorf("error creating patch for agent: %s", err)
	}
	return patch, pod.Annotations, nil
}

// addServiceAccountToken adds what Kubernetes' ServiceAccount admission plugin adds before the
// webhooks run: a projected token volume mounted read-only in every container and init
// container. agent.New looks for a mount whose path contains "serviceaccount". Like
// Kubernetes, nothing is added when automountServiceAccountToken is false or a volume of
// that name or a mount at that path is already there.
func addServiceAccountToken(pod *corev1.Pod) {
	if a := pod.Spec.AutomountServiceAccountToken; a != nil && !*a {
		return
	}
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, "kube-api-access-") {
			return
		}
	}
	expiry := int64(3607)
	mode := int32(0o644)
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
		Name: saVolume,
		VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: &mode,
			Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: &expiry, Path: "token"}},
				{ConfigMap: &corev1.ConfigMapProjection{
					LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
					Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
				}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
					Path:     "namespace",
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
				}}}},
			},
		}},
	})
	mount := func(cs []corev1.Container) {
		for i := range cs {
			has := false
			for _, m := range cs[i].VolumeMounts {
				has = has || m.MountPath == saMountPath
			}
			if !has {
				cs[i].VolumeMounts = append(cs[i].VolumeMounts,
					corev1.VolumeMount{Name: saVolume, MountPath: saMountPath, ReadOnly: true})
			}
		}
	}
	mount(pod.Spec.InitContainers)
	mount(pod.Spec.Containers)
}

func names(cs []corev1.Container) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// vaultConfig decodes the VAULT_CONFIG env (base64 of the agent's JSON config) of the named
// container; null when there is no such container or it has no VAULT_CONFIG (the
// vault.hashicorp.com/agent-configmap case).
func vaultConfig(cs []corev1.Container, name string) (json.RawMessage, error) {
	for _, c := range cs {
		if c.Name != name {
			continue
		}
		for _, e := range c.Env {
			if e.Name != "VAULT_CONFIG" {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(e.Value)
			if err != nil {
				return nil, fmt.Errorf("container %s: VAULT_CONFIG: %w", name, err)
			}
			if !json.Valid(raw) {
				return nil, fmt.Errorf("container %s: VAULT_CONFIG is not JSON", name)
			}
			return raw, nil
		}
		break // agent-configmap: the config is in the ConfigMap, not in the env
	}
	return json.RawMessage("null"), nil
}
