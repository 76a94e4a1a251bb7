#!/usr/bin/env node
// Validates Kubernetes manifests against the API schemas, offline: kubernetes-models for the
// built-in kinds and @kubernetes-models/prometheus-operator for ServiceMonitor, PodMonitor and
// PrometheusRule (their CRD schemas). Each argument is a YAML file, possibly holding several
// documents, or "-" for standard input (e.g. the output of `kustomize build`).
//
// Prints one line per document, "ok: <file> <Kind>/<name>" or "FAIL: <file> <Kind>/<name>:
// <problem>", and exits 1 when any document fails or has a kind this script does not know.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ConfigMap, Secret, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import {
  PodMonitor,
  PrometheusRule,
  ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const models = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

let failed = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file === "-" ? 0 : file, "utf8");
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) {
      console.log(`FAIL: ${file}: invalid YAML: ${document.errors[0].message}`);
      failed++;
      continue;
    }
    const object = document.toJS();
    if (object === null || object === undefined) continue; // comments only
    const key = `${object.apiVersion}/${object.kind}`;
    const subject = `${file} ${object.kind}/${object.metadata?.name ?? "?"}`;
    const Model = models[key];
    if (!Model) {
      console.log(`FAIL: ${subject}: no schema for ${key} here (add it to validate_k8s.mjs)`);
      failed++;
      continue;
    }
    try {
      new Model(object).validate();
      console.log(`ok: ${subject}`);
    } catch (error) {
      const details = (error.errors ?? [])
        .map((e) => `${e.instancePath || "/"} ${e.message}`)
        .join("; ");
      console.log(`FAIL: ${subject}: ${details || error.message}`);
      failed++;
    }
  }
}
process.exit(failed === 0 ? 0 : 1);
