import * as vscode from 'vscode';
import type { WorkerTarget } from '../commands/targets';
import { Commands, DIAGNOSTIC_SOURCE } from '../ids';
import type { DiagnosticsProjection } from './diagnostics';

/**
 * Quick fixes on finding diagnostics: Recycle, Kill, Release. They run the
 * same commands as the tree's menus, with the worker as argument, so there
 * is one implementation of each action.
 */
export class FindingQuickFixes implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly diagnostics: DiagnosticsProjection) {}

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      if (diagnostic.source !== DIAGNOSTIC_SOURCE) continue;
      const ref = this.diagnostics.findingRef(document.uri, diagnostic.message);
      if (!ref) continue;
      const target: WorkerTarget = { folderKey: ref.folderKey, workerId: ref.workerId, leaseId: ref.leaseId };
      const make = (title: string, command: string, preferred: boolean): vscode.CodeAction => {
        const action = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
        action.command = { command, title, arguments: [target] };
        action.diagnostics = [diagnostic];
        action.isPreferred = preferred;
        return action;
      };
      // A dead worker's lease only needs releasing; a live but stuck one is best recycled.
      const deadWorker = ref.kind === 'defunct-busy';
      actions.push(make(`Recycle worker ${ref.workerId}`, Commands.recycleWorker, !deadWorker));
      actions.push(make(`Kill worker ${ref.workerId}`, Commands.killWorker, false));
      if (ref.leaseId) actions.push(make(`Release lease ${ref.leaseId}`, Commands.releaseLease, deadWorker));
    }
    return actions;
  }
}
