// Every task of the plan, in the plan's order. `--only 5` runs the plan's task 5.
import type { Task } from '../src/task.ts'
import save from './00-save-plan.ts'
import vaultToken from './01-vault-token.ts'
import secrets from './02-external-secrets.ts'
import split from './03-split-app-kustomize.ts'
import application from './04-app-application.ts'
import install from './05-install-image-updater.ts'
import allowRepo from './06-allow-helm-repo.ts'
import deploy from './07-commit-and-deploy.ts'
import verify from './08-verify.ts'
import settle from './09-settle-log-level.ts'

export const TASKS: Task[] = [save, vaultToken, secrets, split, application, install, allowRepo, deploy, verify, settle]
