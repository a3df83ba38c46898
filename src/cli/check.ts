import { validateApp, type FieldProblem } from '../api/validate.js';
import { GROUP, KIND, type DistrolessApp } from '../api/schema.js';
import type { Document } from './documents.js';

export interface CheckedDocument {
  doc: Document;
  app?: DistrolessApp;
  /** Another kind of object (a Secret beside the app, say): neither checked nor rendered. */
  skipped?: boolean;
  problems: FieldProblem[];
  warnings: FieldProblem[];
}

/**
 * Manifests of other kinds live beside apps in real repositories, so they are
 * skipped; but an object that claims the distroless.dev group or the DistrolessApp
 * kind and gets the other wrong is a mistake, and reported.
 */
function isOtherKind(content: Record<string, unknown>): boolean {
  const group = typeof content.apiVersion === 'string' ? content.apiVersion.split('/')[0] : undefined;
  return typeof content.kind === 'string' && content.kind !== KIND && group !== GROUP;
}

/** Validates every DistrolessApp document. */
export function checkDocuments(docs: readonly Document[]): CheckedDocument[] {
  return docs.map((doc) => {
    if (doc.error) return { doc, problems: [{ path: '', message: doc.error }], warnings: [] };
    if (doc.content === null || typeof doc.content !== 'object' || Array.isArray(doc.content)) {
      return { doc, problems: [{ path: '', message: `must be a DistrolessApp object, got ${JSON.stringify(doc.content)}` }], warnings: [] };
    }
    if (isOtherKind(doc.content as Record<string, unknown>)) return { doc, skipped: true, problems: [], warnings: [] };
    const result = validateApp(doc.content);
    return result.ok
      ? { doc, app: result.app, problems: [], warnings: result.warnings }
      : { doc, problems: result.problems, warnings: result.warnings };
  });
}

/** `FILE: document N: spec.app.image: message`, the shape editors and CI logs can point at. */
export function formatProblem(doc: Document, problem: FieldProblem, severity?: 'warning' | 'info'): string {
  const where = doc.index > 0 ? `${doc.source}: document ${doc.index}` : doc.source;
  return [where, severity, problem.path || undefined, problem.message].filter(Boolean).join(': ');
}
